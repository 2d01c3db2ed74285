"""Reading what users hand the HTTP commands (JSON options, `key=JSON` pairs, definition
files), refusing anything malformed with exit code 2 before a request is made."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

from flowbus_cli.output import ExitCode, fail


def _read(source: str, what: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {what} {source}: {getattr(error, 'strerror', None) or error}", ExitCode.USAGE)


def json_object(value: str, option: str) -> dict[str, Any]:
    """A JSON object given inline, as `@FILE`, or as `-` (standard input)."""
    if value == "-":
        text = _read("-", option)
    elif value.startswith("@"):
        text = _read(value[1:], f"the {option} file")
    else:
        text = value
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        fail(f"{option} is not JSON: {error.msg} at line {error.lineno} column {error.colno}", ExitCode.USAGE)
    if not isinstance(parsed, dict):
        fail(f"{option} must be a JSON object ({{...}}), not {type(parsed).__name__}", ExitCode.USAGE)
    return parsed


def assignments(pairs: list[str], option: str) -> dict[str, Any]:
    """`name=JSON` pairs, e.g. `tier="gold"` or `limit=5`, as one object."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, equals, raw = pair.partition("=")
        if not equals or not name.strip():
            fail(f"{option} {pair!r}: expected NAME=JSON, e.g. {option} limit=5", ExitCode.USAGE)
        try:
            values[name.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            fail(
                f"{option} {pair!r}: the value is not JSON (text needs quotes: {name.strip()}='\"{raw}\"')",
                ExitCode.USAGE,
            )
    return values


def definition_file(source: str) -> tuple[bytes, str]:
    """A workflow definition file (JSON or YAML, `-` for standard input): its bytes as they
    are, and the content type the API expects for them."""
    text = _read(source, "the definition file")
    try:
        parsed: Any = json.loads(text)
        content_type = "application/json"
    except json.JSONDecodeError:
        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or str(error)
            fail(f"{source} is neither JSON nor YAML: {problem}{where}", ExitCode.USAGE)
        content_type = "application/yaml"
    if not isinstance(parsed, dict):
        fail(f"{source} must hold one workflow definition (a mapping with id, steps, ...)", ExitCode.USAGE)
    return text.encode("utf-8"), content_type
