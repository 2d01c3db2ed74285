"""What the HTTP commands print: JSON for scripts (stdout holds that JSON and nothing else),
tables for people, errors on stderr, and the exit codes they all share."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from enum import IntEnum, StrEnum
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

PIPED_WIDTH = 1000


class ExitCode(IntEnum):
    """Documented in the README's CLI section; scripts rely on them."""

    OK = 0
    REFUSED = 1  # the server refused (a problem answer), or the execution failed or was cancelled
    USAGE = 2  # bad options or input, found before any request (typer's own usage errors are 2 too)
    STILL_RUNNING = 3  # `run --wait`: the timeout passed, or the execution waits for an approval
    UNREACHABLE = 4  # no answer: connection refused, name not resolved, timed out (HTTP or Kafka)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


Output = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="text (tables for people) or json (for scripts)")
]


def stdout() -> Console:
    # Made on use so a test runner's replaced sys.stdout is the one written to.
    # No markup: server text such as "[1]" is printed as it is.
    console = Console(highlight=False, markup=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH  # piped into grep or a file: whole rows, never wrapped at 80
    return console


def stderr() -> Console:
    return Console(stderr=True, highlight=False, markup=False, soft_wrap=True)  # one message, one line


def fail(message: str, code: ExitCode = ExitCode.REFUSED) -> NoReturn:
    """Print `message` on stderr and leave with `code`."""
    stderr().print(Text.assemble(("error: ", "red"), message))
    raise typer.Exit(int(code))


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def emit_json_line(value: Any) -> None:
    typer.echo(json.dumps(value, separators=(",", ":"), default=str))


def when(value: str | None) -> str:
    """An ISO time as people read it: to the second, without the offset of UTC."""
    if not value:
        return ""
    return value.replace("T", " ")[:19]


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def table(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str]], *, title: str = "") -> None:
    """A table of `rows`; `columns` are (key, heading) pairs."""
    shown = Table(title=title or None, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for index, (_key, heading) in enumerate(columns):
        shown.add_column(heading, overflow="fold", no_wrap=index == 0)  # ids stay whole
    for row in rows:
        shown.add_row(*(cell(row.get(key)) for key, _heading in columns))
    stdout().print(shown)


def fields(pairs: Sequence[tuple[str, Any]]) -> None:
    """`name: value` lines, skipping empty values."""
    shown = Table.grid(padding=(0, 2))
    shown.add_column(style="bold")
    shown.add_column(overflow="fold")
    for name, value in pairs:
        if value not in (None, "", [], {}):
            shown.add_row(name, cell(value))
    stdout().print(shown)


def block(title: str, value: Any) -> None:
    """A titled YAML rendering of a JSON value (a definition, an output)."""
    stdout().print(Text(title, style="bold"))
    typer.echo(yaml.safe_dump(value, sort_keys=False, allow_unicode=True).rstrip())
