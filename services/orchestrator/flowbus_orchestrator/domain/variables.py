"""Resolve the references in a step's config against a Scope, just before the step runs.

Syntax, in any string anywhere in the config (dict keys are never touched):
- `{{ path }}` and `${ path }` are the same reference in two spellings; whitespace inside is allowed.
- A path is dot-separated segments, each an identifier (`[A-Za-z_][A-Za-z0-9_-]*`) or a list index
  (`-?[0-9]+`): `name`, `input.order.id`, `analyze_ticket.priority`, `steps.s1.items.0.price`.
  What a path reads is Scope's one rule (scope.py).
- `\\{{` writes a literal `{{` and `\\${` a literal `${`; no other backslash sequence is special.
- References nest and resolve inside out: `{{ {{kind}}_output }}` reads `kind`, then `<kind>_output`.

Rules:
- A string that is one reference and nothing else (whitespace around allowed) becomes the value itself,
  type kept (a copy, so the step can't alter the execution's state through it).
- Otherwise each reference is replaced by its text: str as is, None -> "", bool -> true/false,
  numbers -> str(), dicts/lists -> compact JSON.
- Substituted text is never scanned again: a value holding `{{x}}` is inserted as that literal text.
  Only references written in the template nest, so resolution always terminates.
- Every unescaped `{{` / `${` must open a well-formed reference. Undefined and malformed references in
  the whole structure are collected and raised together as one UnresolvedReference.
- Limits: references nest at most MAX_DEPTH deep; a string plus all text substituted into it is at most
  MAX_CHARS characters. Both raise ResolutionLimitExceeded.
- The given structure is never mutated; a new one is returned.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flowbus_orchestrator.domain.scope import MissingValue, Scope

MAX_DEPTH = 10
MAX_CHARS = 1_000_000


class UnresolvedReference(LookupError):
    """References that name nothing (`paths`, dotted) or aren't well-formed (`malformed`, as written)."""

    def __init__(self, paths: Iterable[str], malformed: Iterable[str] = ()) -> None:
        self.paths = tuple(dict.fromkeys(paths))
        self.malformed = tuple(dict.fromkeys(malformed))
        problems = []
        if self.paths:
            problems.append("undefined: " + ", ".join(self.paths))
        if self.malformed:
            problems.append("malformed: " + ", ".join(repr(text) for text in self.malformed))
        super().__init__("unresolved references (" + "; ".join(problems) + ")")


class ResolutionLimitExceeded(UnresolvedReference):
    """A template nests too deep or expands too long. A subclass so callers fail the step the same way."""

    def __init__(self, message: str) -> None:
        self.paths, self.malformed = (), ()
        LookupError.__init__(self, message)


# While a string is resolved it is kept as "working text", in which literal text (escapes and
# substituted values) is frozen: its `{`, `}`, `$` and NUL are written as NUL + a code letter, so
# they can never open or close a reference. Each substitution is also wrapped in marks, so substituted
# text (even empty or whitespace) is never taken for the whitespace around or inside a reference, and a
# failed one leaves a poison mark, so the outer reference of a failed inner one is skipped rather than
# reported as a second, bogus path.
_NUL = "\x00"
_FREEZE = str.maketrans({_NUL: _NUL + "z", "{": _NUL + "o", "}": _NUL + "c", "$": _NUL + "d"})
_THAW = {"z": _NUL, "o": "{", "c": "}", "d": "$", "s": "", "x": ""}
_SUBSTITUTED = _NUL + "s"
_FAILED = _NUL + "x"
_CODE = re.compile(r"\x00(.)", re.DOTALL)
_ESCAPE = re.compile(r"\\(\{\{|\$\{)")

_SEGMENT = r"(?:[A-Za-z_][A-Za-z0-9_-]*|-?[0-9]+)"
_PATH = re.compile(rf"{_SEGMENT}(?:\.{_SEGMENT})*")
# Innermost references only: a body holds no braces, so an outer reference waits for a later round.
_REF_TEXT = r"\{\{([^{}]*)\}\}|\$\{([^{}]*)\}"
_REF = re.compile(_REF_TEXT)
_WHOLE = re.compile(rf"\s*(?:{_REF_TEXT})\s*")
_OPENER = re.compile(r"\{\{|\$\{")


def resolve(value: Any, scope: Scope) -> Any:
    """A new structure like `value` with every reference resolved against `scope` (see module doc)."""
    resolver = _Resolver(scope)
    result = resolver.value(value)
    if resolver.missing or resolver.malformed:
        raise UnresolvedReference(resolver.missing, resolver.malformed)
    return result


def references(value: Any) -> frozenset[str]:
    """Every well-formed dotted path referenced in `value`. The outer reference of a nested one depends
    on the inner's value, so only the inner is known statically and included."""
    if isinstance(value, str):
        bodies = (_thaw(_body(ref)) for ref in _REF.finditer(_working_text(value)))
        return frozenset(path for path in bodies if _PATH.fullmatch(path))
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return frozenset().union(*(references(item) for item in value))
    return frozenset()


class _Resolver:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.missing: dict[str, None] = {}  # dicts as ordered sets: first-seen order, no duplicates
        self.malformed: dict[str, None] = {}
        self.budget = 0

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def string(self, text: str) -> Any:
        if "{" not in text:  # no reference and no escape: the common case
            return text
        work = _working_text(text)
        self.budget = MAX_CHARS - len(text)
        for _ in range(MAX_DEPTH):
            whole = _WHOLE.fullmatch(work)
            if whole:
                found, value = self.lookup(whole)
                return copy.deepcopy(value) if found else None
            work, count = _REF.subn(self.substitute, work)
            if not count:
                break
        else:
            if _REF.search(work):
                raise ResolutionLimitExceeded(f"references nest more than {MAX_DEPTH} deep in {text[:80]!r}")
        opener = _OPENER.search(work)
        if opener:  # an opener that never became a reference: unclosed, or braces inside its body
            self.malformed[_thaw(work[opener.start() :])[:40]] = None
        return _thaw(work)

    def substitute(self, ref: re.Match[str]) -> str:
        found, value = self.lookup(ref)
        if not found:
            return _FAILED
        text = _text_form(value).translate(_FREEZE)
        self.budget -= len(text)
        if self.budget < 0:
            raise ResolutionLimitExceeded(f"a resolved string would exceed {MAX_CHARS} characters")
        return _SUBSTITUTED + text + _SUBSTITUTED

    def lookup(self, ref: re.Match[str]) -> tuple[bool, Any]:
        """(True, value), or (False, None) after recording why not."""
        body = _body(ref)
        if _FAILED in body:  # an inner reference failed and was recorded already
            return False, None
        path = _thaw(body)
        if not _PATH.fullmatch(path):
            self.malformed[_thaw(ref[0].strip())] = None
            return False, None
        try:
            return True, self.scope.lookup(path.split("."))
        except MissingValue:
            self.missing[path] = None
            return False, None


def _working_text(text: str) -> str:
    return _ESCAPE.sub(lambda escape: escape[1].translate(_FREEZE), text.replace(_NUL, _NUL + "z"))


def _thaw(work: str) -> str:
    return _CODE.sub(lambda code: _THAW[code[1]], work)


def _body(ref: re.Match[str]) -> str:
    return (ref[1] if ref[1] is not None else ref[2]).strip()


def _text_form(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)
