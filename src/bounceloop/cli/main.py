"""The ``bounceloop`` command group; each subcommand lives in its own module.

A command's module is imported only when that command runs: together they import the
database, the web framework and the SMTP server (about a second), which ``bounceloop
parse`` or ``bounceloop --help`` must not wait for. :data:`COMMANDS` names each command's
module and holds its short help, so the command list is printed without importing them
(tests/cli/test_main.py ties each help text to its command's docstring).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
from collections.abc import Iterator
from typing import NamedTuple

import click

from bounceloop import __version__, native


class Entry(NamedTuple):
    module: str
    attr: str
    help: str
    """The first sentence of the command's docstring, as ``--help`` lists it."""


COMMANDS: dict[str, Entry] = {
    "db": Entry("bounceloop.cli.db", "db_command",
                "The database: schema migrations (BOUNCELOOP_DATABASE_URL)."),
    "errors": Entry("bounceloop.cli.listing", "errors_command",
                    "List error rows: synchronous (steps 1-4) and bounces (step 5)."),
    "events": Entry("bounceloop.cli.listing", "events_command",
                    "List events: delivery, retry, failure, bounce, complaint, delay, ..."),
    "explain": Entry("bounceloop.cli.explain", "explain_command",
                     "Show why each recipient of a returned message got its reason: the "
                     "decision path."),
    "ingest": Entry("bounceloop.cli.ingest", "ingest_command",
                    "Feed returned messages collected elsewhere into the bounce pipeline."),
    "parse": Entry("bounceloop.cli.parse", "parse_command",
                   "Parse returned messages into bounce records."),
    "reprocess": Entry("bounceloop.cli.ingest", "reprocess_command",
                       "Parse stored returned messages again (after a parser upgrade); keeps "
                       "history."),
    "select": Entry("bounceloop.cli.select", "select_command",
                    "Keep the rows of the CSV list PATH (- = stdin) whose address has no error "
                    "(--no-errors) or has errors (--errors) matching the filters; write them "
                    "to stdout."),
    "send": Entry("bounceloop.cli.send", "send_command",
                  "Queue a message to every recipient of a CSV file (and deliver it with "
                  "--wait)."),
    "serve": Entry("bounceloop.cli.serve", "serve_command",
                   "Run the service (or one role of it) until stopped."),
    "suppression": Entry("bounceloop.cli.suppression", "suppression_command",
                         "The suppression list: addresses and domains never to be mailed."),
    "token": Entry("bounceloop.cli.token", "token_command",
                   "API tokens (sent as Authorization: Bearer TOKEN)."),
    "user": Entry("bounceloop.cli.user", "user_command",
                  "Web UI users (their passwords are stored as scrypt hashes)."),
    "webhook": Entry("bounceloop.cli.webhook", "webhook_command",
                     "Feedback loops: POST failures, bounces, deliveries and complaints to "
                     "your URLs."),
}


#: The commands that parse returned mail (here or in processes they fork).
PARSING = frozenset({"parse", "explain", "ingest", "reprocess", "serve"})


class LazyGroup(click.Group):
    """A group whose commands (:data:`COMMANDS`) are imported when one is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        with loading():
            if cmd_name in PARSING:
                # Before the parser is imported: its patterns are then made from their kept
                # code (bounceloop/core/rx.py), not compiled again.
                from bounceloop import rxcache

                rxcache.install()
            module = importlib.import_module(entry.module)
        command: click.Command = getattr(module, entry.attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own listing calls get_command for each command, importing every module: a
        # stand-in holding the table's help is shortened the way click shortens a docstring.
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        rows = [(name, click.Command(name, help=entry.help).get_short_help_str(limit))
                for name, entry in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


#: Which parser this process runs (bounceloop.native): said by --version.
PARSER = "compiled (mypyc)" if native.active() else "plain Python"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bounceloop",
                      message=f"%(prog)s %(version)s (parser: {PARSER})")
def cli() -> None:
    """bounceloop: a self-hosted delivery-error engine for email."""


@contextlib.contextmanager
def loading() -> Iterator[None]:
    """Around a command's imports: the cyclic garbage collector off while they run, then
    everything they made frozen out of it (gc.freeze), and the collector as it was.

    Importing the database, settings and delivery code makes a few hundred thousand
    objects that live until the exit, and next to no garbage; the collector, started every
    700 allocations, walked them again and again (about 50 ms of send --wait's start), and
    every full collection during the delivery walked them once more.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def main() -> None:
    try:
        cli(prog_name="bounceloop")
    finally:
        # The interpreter's shutdown collects every object still alive, over and over as
        # modules are torn down: 0.17-0.27 s after a 2,000-message send --wait, 0.03-0.04 s
        # with them frozen out of the collector (the memory goes back with the process;
        # atexit handlers and finalisers still run).
        gc.freeze()
