"""The action policy: which complexity (1-4) each action has, as versioned data.

Actions are classified by exact name first, then by declared glob patterns over the whole name
(``fnmatch.fnmatchcase``); when several patterns match, the strictest (highest) complexity wins.
There are no substring guesses: the monolith counted ``thread_delete`` as a read because it
contains "read". An action nothing classifies gets ``None`` and the caller denies it (fail closed).

Complexity: 1 read/search/list, 2 analyze/draft/generate, 3 create/update/send, 4 delete/execute/payment.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Annotated, Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

MIN_COMPLEXITY: Final = 1
MAX_COMPLEXITY: Final = 4
DEFAULT_POLICY_PATH: Final[Path] = Path(__file__).parents[1] / "policy.yaml"

ACTION_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_.:-]*$")
_PATTERN_RE: Final = re.compile(r"^[a-z0-9_.:*?-]+$")
_WILDCARDS: Final = frozenset("*?")

Complexity = Annotated[int, Field(strict=True, ge=MIN_COMPLEXITY, le=MAX_COMPLEXITY)]


class PolicyError(ValueError):
    """The policy is malformed; the message says which entry and why."""


class PatternRule(BaseModel):
    """A declared glob pattern (``*`` and ``?`` only) over the whole action name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pattern: str
    complexity: Complexity

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        if "[" in value or "]" in value:
            raise ValueError(f"pattern {value!r}: character classes ('[...]') are not allowed")
        if not _PATTERN_RE.fullmatch(value):
            raise ValueError(
                f"pattern {value!r} may only use lowercase letters, digits, '_', '.', ':', '-', '*' and '?'"
            )
        if not _WILDCARDS & set(value):
            raise ValueError(f"pattern {value!r} has no wildcard: list exact names under 'actions'")
        if set(value) <= _WILDCARDS:
            raise ValueError(
                f"pattern {value!r} matches every action: a catch-all would defeat fail-closed "
                "(unknown actions must be denied)"
            )
        return value


class Policy(BaseModel):
    """A versioned mapping of action names and patterns to complexity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[str, Field(strict=True, min_length=1)]
    actions: dict[str, Complexity] = Field(default_factory=dict)
    patterns: list[PatternRule] = Field(default_factory=list)

    # Pattern rules compiled once, one alternation per complexity, strictest first.
    _compiled: tuple[tuple[int, re.Pattern[str]], ...] = PrivateAttr(default=())

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("version must not be blank")
        return value

    @field_validator("actions")
    @classmethod
    def _check_action_names(cls, value: dict[str, int]) -> dict[str, int]:
        for name in value:
            if not ACTION_NAME_RE.fullmatch(name):
                raise ValueError(
                    f"action {name!r}: names must match {ACTION_NAME_RE.pattern} (lowercase, no spaces)"
                )
        return value

    @field_validator("patterns")
    @classmethod
    def _check_unique_patterns(cls, value: list[PatternRule]) -> list[PatternRule]:
        seen: set[str] = set()
        for rule in value:
            if rule.pattern in seen:
                raise ValueError(f"pattern {rule.pattern!r} is declared twice")
            seen.add(rule.pattern)
        return value

    def model_post_init(self, context: Any, /) -> None:
        by_level: dict[int, list[str]] = {}
        for rule in self.patterns:
            by_level.setdefault(rule.complexity, []).append(fnmatch.translate(rule.pattern))
        self._compiled = tuple(
            (level, re.compile("|".join(by_level[level]))) for level in sorted(by_level, reverse=True)
        )

    def complexity_of(self, action: str) -> int | None:
        """See :func:`classify`."""
        exact = self.actions.get(action)
        if exact is not None:
            return exact
        if not ACTION_NAME_RE.fullmatch(action):
            return None
        for level, compiled in self._compiled:
            if compiled.match(action):
                return level
        return None


def classify(policy: Policy, action: str) -> int | None:
    """Complexity of ``action`` under ``policy``, or None when the policy does not know it.

    The exact name wins; otherwise the highest complexity among all matching patterns. Names are
    matched as given (case-sensitive); a name outside the action grammar (empty, blank, spaces,
    uppercase) matches no pattern.
    """
    return policy.complexity_of(action)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys (pyyaml silently keeps the last)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
        except TypeError:
            continue  # unhashable key: the constructor below reports it
        if duplicate:
            raise PolicyError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "policy"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse_policy(data: object) -> Policy:
    """Validate already-parsed policy data, raising PolicyError with every problem found."""
    if not isinstance(data, dict):
        raise PolicyError(f"a policy must be a mapping, got {type(data).__name__}")
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(f"invalid policy: {_describe(error)}") from None


def load_policy(source: str | Path) -> Policy:
    """Load a policy: a ``Path`` is read from disk, a ``str`` is the YAML text itself.

    Raises PolicyError for an unreadable file, malformed YAML, duplicate keys, wrong types,
    out-of-range complexity, bad names and catch-all patterns.
    """
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as error:
            raise PolicyError(f"cannot read policy {source}: {error.strerror or error}") from None
    else:
        text = source
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise PolicyError(f"malformed policy YAML: {error}") from None
    return parse_policy(data)


def default_policy() -> Policy:
    """The policy shipped with the service (``flowbus_governance/policy.yaml``)."""
    return load_policy(DEFAULT_POLICY_PATH)
