"""The long-running service: delivery, the inbound SMTP server, its processing worker, the
webhook worker and the HTTP server, in one asyncio loop - all of them, or one role
(:data:`ROLES`) per process.

``bounceloop serve`` builds :class:`Settings` at the edge and hands them to :func:`serve`,
which opens the database (migrating an empty one), starts the delivery engine, the inbound
server (``BOUNCELOOP_SMTP_LISTEN``; returned mail is stored, then processed by the
Processor), the webhook worker, the suppression list's expiry sweep and the HTTP server
(``/health``, ``/metrics``), and runs until SIGINT or
SIGTERM. On stop the inbound server stops listening, the engine finishes the SMTP
transactions it is in, starts no new one, and every worker gives its remaining jobs back to
the queue, so another worker (or the next start) takes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from bounceloop.config import Settings, host_port
from bounceloop.observability import logs
from bounceloop.storage import migrate, outbox, suppressions
from bounceloop.storage.engine import create_engine, utcnow

if TYPE_CHECKING:
    from bounceloop.delivery.engine import Engine as Delivery
    from bounceloop.delivery.journal import Journal

log = logging.getLogger(__name__)


class StartError(RuntimeError):
    """The service cannot start; the message says why, for a person."""


class DatabaseError(StartError):
    """The database cannot be used; the message says why, for a person."""


def open_journal(settings: Settings, worker: str) -> Journal:
    """This worker's in-flight journal (see delivery.journal) under the spool directory."""
    from bounceloop.delivery.journal import Journal

    try:
        return Journal(settings.journal_dir, worker)
    except OSError as exc:
        raise StartError(f"cannot write the in-flight journal in {settings.journal_dir}: "
                         f"{exc.strerror or exc} (BOUNCELOOP_SPOOL_DIR)") from None


def shown(url: str) -> str:
    """A database URL fit to print (password masked)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def reason(exc: BaseException) -> str:
    text = str(exc.orig) if isinstance(exc, DBAPIError) and exc.orig is not None else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def open_database(settings: Settings) -> Engine:
    """The database engine, with the schema created on an empty database.

    A database at an older schema is not migrated behind the operator's back (several
    processes may share it): :class:`DatabaseError` asks for ``bounceloop db upgrade``.
    """
    url = settings.database_url
    try:
        db = create_engine(url)
    except ImportError as exc:
        raise DatabaseError(f"the database {shown(url)} needs a driver that is not installed "
                            f"({exc}); for PostgreSQL: pip install 'bounceloop[postgres]'"
                            ) from None
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise DatabaseError(f"bad database URL {shown(url)}: {reason(exc)}") from None
    try:
        revision = migrate.current(db)
        if revision is None:
            migrate.upgrade(db)
        elif revision != migrate.head():
            raise DatabaseError(f"the database {shown(url)} has schema {revision}, this "
                                f"version needs {migrate.head()}: run `bounceloop db upgrade`")
    except SQLAlchemyError as exc:
        db.dispose()
        raise DatabaseError(f"cannot use the database {shown(url)}: {reason(exc)}") from None
    return db


def listen(host: str, port: int) -> socket.socket:
    """The HTTP server's listening socket. Bound here, so that a port in use is an OSError
    for the caller to report: uvicorn would log it and exit the process (status 3)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


#: What a ``serve`` process runs (``--role``): any number of each may share one database.
#:   smtp    the inbound SMTP server: stores returned mail (the workers process it)
#:   worker  delivery, processing of returned mail, webhook calls, the expiry sweep
#:   web     the REST API and the UI
#:   all     all of them (the default: one process does everything)
#: Every role serves /health, /ready and /metrics on BOUNCELOOP_HTTP_LISTEN.
ROLES = ("all", "smtp", "worker", "web")


async def serve(settings: Settings, stop: asyncio.Event | None = None,
                role: str = "all") -> None:
    """Run ``role`` until ``stop`` is set (or SIGINT/SIGTERM)."""
    # Imported here, not with the module: the commands that only open the database (send,
    # errors, ...) would wait for the web framework and the SMTP server, and all but send
    # for the delivery engine.
    import uvicorn

    from bounceloop.delivery.engine import Engine as Delivery
    from bounceloop.delivery.engine import worker_name
    from bounceloop.inbound.inbox import Inbox
    from bounceloop.inbound.process import Processor
    from bounceloop.inbound.server import InboundServer
    from bounceloop.observability.metrics import Metrics
    from bounceloop.observability.queue import QueueCollector
    from bounceloop.observability.suppressions import SuppressionCollector
    from bounceloop.web.app import create_app
    from bounceloop.web.server import Server
    from bounceloop.webhooks.dispatch import Dispatcher

    if role not in ROLES:
        raise StartError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    smtp, work, web = (role in ("all", name) for name in ("smtp", "worker", "web"))
    if role == "smtp" and not settings.smtp_listen:
        raise StartError("the smtp role needs an address to listen on: "
                         "BOUNCELOOP_SMTP_LISTEN")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    db = open_database(settings)
    sockets: list[socket.socket] = []
    worker = worker_name()
    logs.bound(role=role, worker=worker)  # before the tasks start: they copy the context
    journal: Journal | None = None
    try:
        host, port = host_port(settings.http_listen, 8080)
        sock = _bind(host, port, "BOUNCELOOP_HTTP_LISTEN")
        sockets.append(sock)
        smtp_sock = None
        if smtp and settings.smtp_listen:
            smtp_sock = _bind(*host_port(settings.smtp_listen, 25), "BOUNCELOOP_SMTP_LISTEN")
            sockets.append(smtp_sock)
        if work:
            journal = open_journal(settings, worker)
    except StartError:
        db.dispose()
        for s in sockets:
            s.close()
        raise
    port = sock.getsockname()[1]
    metrics = Metrics()
    metrics.registry.register(QueueCollector(db))
    metrics.registry.register(SuppressionCollector(db))
    tasks: list[asyncio.Task[Any]] = []
    engine: Delivery | None = None
    processor: Processor | None = None
    starting: set[str] = set()
    """The parts still starting: /ready waits for them (see web.app)."""
    starts: list[asyncio.Task[None]] = []
    if work:
        assert journal is not None
        engine = Delivery(settings, db, metrics=metrics, stop=stop, worker=worker,
                          journal=journal,
                          database_process=settings.delivery_database_process)
        processor = Processor(settings, db, worker, metrics=metrics,
                              parse_processes=settings.parse_processes)
        dispatcher = Dispatcher(settings, db, worker, metrics=metrics)
        parts = {"delivery database process": engine.ready, "parser processes": processor.warm}
        starting |= set(parts)
        # Not among ``tasks``: the service stops when one of those ends.
        starts += [asyncio.create_task(_started(starting, part, start, stop))
                   for part, start in parts.items()]
        tasks += [asyncio.create_task(engine.run(stop)),
                  asyncio.create_task(processor.run(stop)),
                  asyncio.create_task(dispatcher.run(stop)),
                  asyncio.create_task(sweep(db, settings.suppression_sweep_interval, stop,
                                            settings.job_retention))]
    inbound: InboundServer | None = None
    if smtp_sock is not None:
        # A worker in this process is woken at once; others find the job on their poll.
        inbox = Inbox(db, on_stored=processor.wake.set if processor else None,
                      writes=processor.writes if processor else None)
        inbound = InboundServer(settings, inbox, metrics)
        await inbound.start(smtp_sock)
    server = Server(uvicorn.Config(create_app(db, metrics, settings, interactive=web,
                                               starting=lambda: sorted(starting)),
                                    host=host, port=port, log_level="warning",
                                    lifespan="off", access_log=False))
    tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
    smtp_shown = ""
    if smtp_sock is not None:
        smtp_host, smtp_port = smtp_sock.getsockname()[:2]
        smtp_shown = f", smtp {_shown_host(smtp_host)}:{smtp_port}"
    log.info("serving http://%s:%s%s (role %s, database %s, worker %s)", _shown_host(host),
             port, smtp_shown, role, shown(settings.database_url), worker)
    try:
        done, _ = await asyncio.wait({*tasks, asyncio.create_task(stop.wait())},
                                     return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not None and task.done() and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]
    finally:
        stop.set()
        if inbound is not None:
            await inbound.close()
        server.should_exit = True
        await asyncio.gather(*tasks, *starts, return_exceptions=True)
        if processor is not None:
            processor.close()
        if engine is not None:
            with db.begin() as conn:
                outbox.release(conn, worker)
        if journal is not None:
            journal.close()
        db.dispose()
        for s in sockets:
            s.close()
        log.info("stopped")


async def _started(starting: set[str], part: str, start: Callable[[], Awaitable[None]],
                   stop: asyncio.Event) -> None:
    """Start a part, then take it off ``starting``. One that fails to start stays on it
    (/ready says 503) and is tried again, waiting longer each time (up to a minute), until
    it starts or the service stops."""
    pause = 1.0
    while not stop.is_set():
        try:
            await start()
        except Exception as exc:
            log.error("%s did not start (trying again in %.0f s): %s", part, pause, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(60.0, pause * 2)
            continue
        starting.discard(part)
        return


async def sweep(db: Engine, interval: float, stop: asyncio.Event,
                retention: float | None = None) -> None:
    """Until ``stop``: take expired entries off the suppression list (each is logged), and
    delete done jobs older than ``retention`` seconds (the outbox would grow with every
    message, bounce and webhook call; dead ones are kept), in small transactions."""
    while not stop.is_set():
        try:
            while await asyncio.to_thread(_expire, db):
                pass
            while retention and not stop.is_set() and (
                    await asyncio.to_thread(_purge, db, retention) == PURGE_BATCH):
                pass
        except SQLAlchemyError as exc:
            log.error("suppression expiry or job purge failed (retrying): %s", reason(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


#: Done jobs deleted per transaction by the sweep (short, so claims are not held up).
PURGE_BATCH = 2000


def _purge(db: Engine, retention: float) -> int:
    with db.begin() as conn:
        return outbox.purge(conn, utcnow() - timedelta(seconds=retention), PURGE_BATCH)


def _expire(db: Engine) -> int:
    with db.begin() as conn:
        return suppressions.expire(conn, utcnow())


def _bind(host: str, port: int, setting: str) -> socket.socket:
    try:
        return listen(host, port)
    except OSError as exc:
        raise StartError(f"cannot listen on {_shown_host(host)}:{port} ({setting}): "
                         f"{exc.strerror or exc}") from None


def _shown_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
