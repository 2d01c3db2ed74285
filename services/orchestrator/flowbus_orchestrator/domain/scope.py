"""What a reference or a condition can read, and the one rule for reading it.

A dotted path `a.b.c` is looked up as:
- `input.x...`      -> the execution's input;
- `variables.x...`  -> the execution's variables (explicitly);
- `steps.<id>.x...` -> a finished step's output (explicitly);
- `<step id>.x...`  -> that step's output, when a step with that id has finished;
- `x...`            -> the variable `x`.
Walking into a mapping uses keys, into a list uses integer indexes; nothing
else (no attributes, no calls).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class MissingValue(LookupError):
    """A path that names nothing; `path` is the dotted name."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path!r} is not defined")
        self.path = path


@dataclass(frozen=True)
class Scope:
    input: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def lookup(self, path: Sequence[str]) -> Any:
        """The value at `path`, or MissingValue."""
        if not path:
            raise MissingValue("")
        head, rest = path[0], list(path[1:])
        root: Any
        if head == "input":
            root = self.input
        elif head == "variables":
            root = self.variables
        elif head == "steps" and rest:
            if rest[0] not in self.steps:
                raise MissingValue(".".join(path))
            root, rest = self.steps[rest[0]], rest[1:]
        elif head in self.steps and rest:
            root = self.steps[head]
        elif head in self.variables:
            root = self.variables[head]
        else:
            raise MissingValue(".".join(path))
        return _walk(root, rest, path)


def _walk(value: Any, rest: Sequence[str], path: Sequence[str]) -> Any:
    for part in rest:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            raise MissingValue(".".join(path))
    return value
