"""``bounceloop parse``: read returned messages from files, directories, mboxes or stdin.

Exit status: 0 when every input was read and parsed, 1 when some input could not be (each is
named on stderr and the run goes on), 2 for bad usage.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import click

from bounceloop.core.csvcell import cell
from bounceloop.core.model import BOUNCE_STATE, FIELDS, Bounce, Kind
from bounceloop.core.severity import Convention
from bounceloop.parsing import parse
from bounceloop.sources import Item, SourceError, expand, load, split_mbox

FORMATS = ("jsonl", "json", "csv", "table")


CSV_FIELDS = ("file", "message", *FIELDS)


@dataclass(slots=True)
class Outcome:
    """What one input produced: rendered output, rows (for tables) and error messages."""

    rows: list[dict[str, object]] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    """The rows already rendered in the output format (jsonl/json/csv), in order."""
    errors: list[str] = field(default_factory=list)
    inputs: int = 0
    messages: int = 0
    unrecognized: int = 0
    count: int = 0
    """Rows in ``rendered`` when it holds them joined (jsonl lines), else 0."""


@dataclass(frozen=True, slots=True)
class Job:
    item: Item
    show_all: bool
    convention: Convention
    fmt: str = "jsonl"
    data: bytes | None = None
    """Pre-read bytes (stdin is read by the parent process)."""


def run_job(job: Job) -> Outcome:
    """Read, parse and render one input: safe to run in a worker process, so the workers
    and not the parent pay for rendering."""
    out = _parse_job(job)
    if job.fmt != "table":
        out.rendered = [render(row, job.fmt) for row in out.rows]
        out.rows = []
    return out


def render(row: dict[str, object], fmt: str) -> str:
    """One row as a jsonl line, a json array element or a csv line."""
    if fmt == "csv":
        import csv  # for csv output only: jsonl and json runs do not load it

        buf = io.StringIO()
        csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore").writerow(
            {k: _csv_value(v) for k, v in row.items()})
        return buf.getvalue()
    return json.dumps(row, ensure_ascii=False)


def _parse_job(job: Job) -> Outcome:
    out = Outcome(inputs=1)
    try:
        messages = split_mbox(job.data) if job.data is not None else load(job.item)
    except SourceError as exc:
        out.errors.append(f"cannot read {exc}")
        return out
    many = len(messages) > 1
    for n, raw in enumerate(messages, 1):
        out.messages += 1
        where = f"{job.item.label} (message {n})" if many else job.item.label
        result = parse(raw, job.convention)
        if result.error:
            out.errors.append(f"{where}: cannot parse: {result.error}")
            continue
        records: Iterable[Bounce] = result.records
        if not result.records:
            out.unrecognized += 1
            if not job.show_all:
                continue
            records = [_unrecognized(result.subject)]
        for record in records:
            row: dict[str, object] = {"file": job.item.label}
            if many:
                row["message"] = n
            row.update(record.as_dict())
            out.rows.append(row)
    return out


def _unrecognized(subject: str) -> Bounce:
    return Bounce(
        recipient="",
        action="",
        state=BOUNCE_STATE,
        code="",
        extended="",
        description="not recognised as a bounce, complaint or auto-reply",
        reason="",
        severity="",
        hardbounce=False,
        kind=Kind.UNRECOGNIZED.value,
        subject=subject,
    )


def _jobs(paths: list[str], show_all: bool, convention: Convention, fmt: str,
          errors: list[str]) -> list[Job]:
    jobs: list[Job] = []
    for entry in expand(paths):
        if isinstance(entry, SourceError):
            errors.append(f"cannot read {entry}")
            continue
        data = sys.stdin.buffer.read() if entry.path == "-" else None
        jobs.append(Job(entry, show_all, convention, fmt, data))
    return jobs


def _outcomes(jobs: list[Job], workers: int) -> Iterator[Outcome]:
    if workers <= 1 or len(jobs) < 2:
        yield from map(run_job, jobs)
        return
    import multiprocessing  # only here: a run with one worker does not load it (~5 ms)

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # Send inputs in batches and get one Outcome back per batch: per-message IPC costs more
    # than parsing a small bounce does. The workers get the jobs once, as the pool's
    # initializer arguments (inherited, not pickled, when they are forked), and each task
    # names a range of them; a batch's rendered rows come back as one string.
    size = max(1, min(64, len(jobs) // (workers * 8) or 1))
    ranges = [(i, min(i + size, len(jobs))) for i in range(0, len(jobs), size)]
    # concurrent.futures, not multiprocessing.Pool: since bpo-35493 (Python 3.8) the Pool's
    # worker-handler thread also waits on the results pipe, and wakes and loops (a new
    # selector each time) for as long as a result is in it, not yet read by the result
    # thread: with ~60 kB results, ~0.12 s of the parent's CPU in a 4,240-file run, taken
    # from the two workers on a 2-CPU machine. The executor's one thread waits on that pipe
    # and reads it itself. It also notices a worker that died (the Pool waits forever).
    from concurrent.futures import Future, ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # The parent is one of the ``workers``: it parses too, between writing what is done.
    # With a pool of as many processes as CPUs, the parent's own work (start-up, listing
    # the inputs, reading results, writing) ran as a third process on 2 CPUs: bench/parse.py,
    # 4,240 files, 0.2 s of the parent's CPU beside 1.7-2.3 s of the workers', which held
    # --workers 2 at 1.5x one. The pool is kept ``ahead`` ranges in front of the output;
    # whenever the next range to write is not done yet, the parent takes the first range
    # nobody has and parses it itself, holding its outcome until its turn (order is kept,
    # so the output is the same whatever --workers is).
    pool = ProcessPoolExecutor(workers - 1, mp_context=ctx, initializer=_take_jobs,
                               initargs=(jobs,))
    ahead = 2 * (workers - 1)
    # Outcomes the parent holds for their turn, at most: a worker stuck on one huge
    # message does not have the parent parse (and hold) all the rest meanwhile.
    held = 8 * workers
    futures: dict[int, Future[Outcome]] = {}
    done_here: dict[int, Outcome] = {}
    given = 0  # ranges handed out (to the pool or the parent), in order
    broken = False
    try:
        for index, (start, end) in enumerate(ranges):
            while True:
                while not broken and given < len(ranges) and len(futures) < ahead:
                    futures[given] = pool.submit(_run_range, ranges[given])
                    given += 1
                future = futures.get(index)
                if index in done_here or future is None or future.done() \
                        or given >= len(ranges) or len(done_here) >= held:
                    break
                done_here[given] = run_batch(jobs[slice(*ranges[given])])
                given += 1
            if index in done_here:
                yield done_here.pop(index)
                continue
            if future is None:  # the pool broke before this range was given to it
                yield run_batch(jobs[start:end])
                continue
            del futures[index]
            try:
                yield future.result()
            except BrokenProcessPool:
                # A worker was killed (out of memory, a signal): each input of the ranges
                # it had is named, and the run ends with status 1; the parent parses the
                # ranges nobody had yet.
                broken = True
                for job in jobs[start:end]:
                    yield Outcome(inputs=1, errors=[
                        f"{job.item.label}: not parsed: a parser process ended abruptly"])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_JOBS: list[Job] = []
"""A pool worker's jobs, set once by the pool's initializer (see :func:`_outcomes`)."""


def _take_jobs(jobs: list[Job]) -> None:
    _JOBS[:] = jobs


def _run_range(bounds: tuple[int, int]) -> Outcome:
    return run_batch(_JOBS[bounds[0]:bounds[1]])


def run_batch(jobs: list[Job]) -> Outcome:
    """Several inputs in one worker task, their outcomes merged in order (the rendered rows
    joined into one text: see :meth:`Writer.write_text`)."""
    merged = Outcome()
    for job in jobs:
        out = run_job(job)
        merged.rows += out.rows
        merged.rendered += out.rendered
        merged.errors += out.errors
        merged.inputs += out.inputs
        merged.messages += out.messages
        merged.unrecognized += out.unrecognized
    if merged.rendered and jobs[0].fmt == "jsonl":
        merged.count = len(merged.rendered)
        merged.rendered = ["\n".join(merged.rendered)]
    return merged


class Writer:
    """Streams rows in one of the output formats."""

    def __init__(self, fmt: str, stream: IO[str]) -> None:
        self.fmt = fmt
        self.stream = stream
        self.count = 0
        self._table_rows: list[dict[str, object]] = []

    def write(self, row: dict[str, object]) -> None:
        """A row for the table (the other formats arrive rendered, see :meth:`write_text`)."""
        self.count += 1
        self._table_rows.append(row)

    def write_text(self, text: str, rows: int = 1) -> None:
        """One row rendered by :func:`render` (for jsonl, ``rows`` lines of them joined)."""
        self.count += rows
        if self.fmt == "jsonl":
            self.stream.write(text + "\n")
        elif self.fmt == "json":
            self.stream.write(("[\n" if self.count == 1 else ",\n") + text)
        else:
            if self.count == 1:
                import csv  # as in render()

                csv.DictWriter(self.stream, fieldnames=CSV_FIELDS).writeheader()
            self.stream.write(text)

    def close(self) -> None:
        if self.fmt == "json":
            self.stream.write("[]\n" if self.count == 0 else "\n]\n")
        elif self.fmt == "table":
            _print_table(self._table_rows, self.stream)
        self.stream.flush()


def _csv_value(value: object) -> object:
    """core.csvcell's cell (neutralised for spreadsheets: a bounce's subject or a remote
    server's text is someone else's to choose), with no headers an empty cell."""
    return "" if value == {} else cell(value)


def _print_table(rows: list[dict[str, object]], stream: IO[str]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    # Piped output has no terminal width to fit; do not fold every cell into 80 columns.
    console = Console(file=stream, width=None if stream.isatty() else 200)
    files = {str(r.get("file", "")) for r in rows}
    columns = {"recipient": 28, "reason": 12, "code": 4, "status": 7, "hard": 4}
    if len(files) > 1 and console.width >= 120:
        columns = {"file": 22, **columns}
    if console.width >= 140:
        columns["rule"] = 30  # why the reason (issue 18): phrase:userunknown/..., status:5.1.1
    if console.width < 100:
        del columns["code"]
    used = sum(columns.values()) + 2 * len(columns) + 2
    table = Table(header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for name, width in columns.items():
        table.add_column(name, width=width, no_wrap=True, overflow="ellipsis")
    table.add_column("description", width=max(12, console.width - used), no_wrap=True,
                     overflow="ellipsis")
    for row in rows:
        name = str(row.get("file", "")).rsplit("/", 1)[-1]
        cells = {
            "file": name + (f"#{row['message']}" if "message" in row else ""),
            "recipient": str(row.get("recipient", "")),
            "reason": str(row.get("reason", "") or row.get("kind", "")),
            "code": str(row.get("code", "")),
            "status": str(row.get("extended", "")),
            "hard": "yes" if row.get("hardbounce") else "",
            "rule": str(row.get("rule", "")),
        }
        table.add_row(*(cells[c] for c in columns), str(row.get("description", "")))
    console.print(table)


@click.command("parse")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: table on a terminal, jsonl otherwise).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Parse in this many processes; the output is the same.")
@click.option("--all", "show_all", is_flag=True,
              help="Also print one 'unrecognized' record per message that yielded nothing.")
@click.option("--convention", type=click.Choice([c.value for c in Convention]),
              default=Convention.CODE.value, show_default=True,
              help="Soft/hard convention for the severity field.")
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: on when stderr is a terminal).")
@click.argument("paths", nargs=-1, required=True)
def parse_command(fmt: str | None, workers: int, show_all: bool, convention: str,
                  progress: bool | None, paths: tuple[str, ...]) -> None:
    """Parse returned messages into bounce records.

    PATH is an .eml file, a directory (searched recursively; maildirs included), an mbox
    file, or - for standard input.
    """
    out = sys.stdout
    err = sys.stderr
    if fmt is None:
        fmt = "table" if out.isatty() else "jsonl"
    if progress is None:
        progress = err.isatty()
    errors: list[str] = []
    jobs = _jobs(list(paths), show_all, Convention(convention), fmt, errors)
    for message in errors:
        click.echo(f"bounceloop: {message}", err=True)
    failed = bool(errors)
    writer = Writer(fmt, out)
    messages = unrecognized = 0
    bar = _progress(len(jobs)) if progress and jobs else None
    try:
        for outcome in _outcomes(jobs, workers):
            messages += outcome.messages
            unrecognized += outcome.unrecognized
            for message in outcome.errors:
                failed = True
                if bar is not None:
                    bar.console.print(f"bounceloop: {message}", markup=False, highlight=False)
                else:
                    click.echo(f"bounceloop: {message}", err=True)
            for row in outcome.rows:
                writer.write(row)
            if outcome.count:
                writer.write_text(outcome.rendered[0], outcome.count)
            else:
                for text in outcome.rendered:
                    writer.write_text(text)
            if bar is not None:
                bar.advance(outcome.inputs)
    finally:
        if bar is not None:
            bar.stop()
    writer.close()
    if err.isatty():
        click.echo(
            f"{messages} messages, {writer.count} records, {unrecognized} not recognised",
            err=True,
        )
    sys.exit(1 if failed else 0)


def _progress(total: int) -> Bar:
    return Bar(total, "parsing")


class Bar:
    """A rich progress bar on stderr."""

    def __init__(self, total: int | None, description: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.console = Console(stderr=True)
        self._progress = Progress(
            "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=self.console, transient=True,
        )
        self._task = self._progress.add_task(description, total=total)
        self._progress.start()

    def advance(self, inputs: int) -> None:
        self._progress.advance(self._task, inputs)

    def stop(self) -> None:
        self._progress.stop()
