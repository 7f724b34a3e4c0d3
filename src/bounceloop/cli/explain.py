"""``bounceloop explain``: why each recipient of a returned message got its reason."""

from __future__ import annotations

import json
import sys

import click

from bounceloop.core.severity import Convention
from bounceloop.parsing.explain import explain, render
from bounceloop.sources import SourceError, expand, load


@click.command("explain")
@click.argument("files", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for a terminal; json: one object per file.")
@click.option("--convention", type=click.Choice([c.value for c in Convention]),
              default=Convention.CODE.value, show_default=True,
              help="Soft/hard convention, as for parse.")
def explain_command(files: tuple[str, ...], fmt: str, convention: str) -> None:
    """Show why each recipient of a returned message got its reason: the decision path.

    For each FILE (a message, or a directory of them): the detectors tried in order and the
    one that read it; per recipient, where the status and reply code came from, the
    classifier's steps, the rule that decided the reason (``rule``) and the text it matched
    (``matched``), whether the MTA gave up after retrying, and the other reasons whose
    phrases also occur in the text. Exit status 1 when a file cannot be read.
    """
    failed = False
    for item in expand(list(files)):
        try:
            if isinstance(item, SourceError):
                raise item
            messages = load(item)
        except SourceError as exc:
            click.echo(f"bounceloop explain: {exc}", err=True)
            failed = True
            continue
        for n, raw in enumerate(messages, 1):
            name = item.label if len(messages) == 1 else f"{item.label}#{n}"
            result = explain(raw, Convention(convention))
            if fmt == "json":
                sys.stdout.write(json.dumps({"file": name, **result.as_dict()},
                                            ensure_ascii=False) + "\n")
            else:
                click.echo(render(name, result))
    if failed:
        sys.exit(1)
