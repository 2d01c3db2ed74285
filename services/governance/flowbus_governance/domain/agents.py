"""Agent maturity and confidence arithmetic.

An agent's status is a maturity level derived from its confidence score, which moves with
every reported outcome. Pure functions only: the service persists the results.

New agents start as ``student`` with confidence 0.5, as the monolith did, even though 0.5 maps
to ``intern`` by the thresholds: the status is only recomputed when the confidence changes, so
an agent earns ``intern`` by its first reported outcome, not by being registered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

AgentStatus = Literal["student", "intern", "supervised", "autonomous", "paused", "deprecated"]
Impact = Literal["high", "low"]

MATURITY_LEVELS: Final[tuple[AgentStatus, ...]] = ("student", "intern", "supervised", "autonomous")
"""Maturity levels, weakest first; ``paused`` and ``deprecated`` are not levels."""

AGENT_STATUSES: Final[tuple[AgentStatus, ...]] = (*MATURITY_LEVELS, "paused", "deprecated")

NEW_AGENT_STATUS: Final[AgentStatus] = "student"
NEW_AGENT_CONFIDENCE: Final[float] = 0.5

_RANKS: Final[dict[str, int]] = {level: rank for rank, level in enumerate(MATURITY_LEVELS)}
_HELD_STATUSES: Final[frozenset[str]] = frozenset({"paused", "deprecated"})

# (success delta, failure delta) per impact.
_DELTAS: Final[dict[str, tuple[float, float]]] = {"high": (0.05, -0.10), "low": (0.01, -0.02)}


def maturity_rank(status: AgentStatus) -> int | None:
    """Position of ``status`` in MATURITY_LEVELS (0 = student); None for paused/deprecated."""
    return _RANKS.get(status)


def check_confidence(value: float) -> float:
    """Return ``value`` if it is a confidence in [0, 1]; raise ValueError otherwise (NaN included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"confidence must be a number, got {type(value).__name__}")
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"confidence must be within [0, 1], got {value!r}")
    return float(value)


def maturity_for(confidence: float) -> AgentStatus:
    """Maturity earned by a confidence: >= 0.9 autonomous, >= 0.7 supervised, >= 0.5 intern."""
    if confidence >= 0.9:
        return "autonomous"
    if confidence >= 0.7:
        return "supervised"
    if confidence >= 0.5:
        return "intern"
    return "student"


def confidence_after(confidence: float, *, success: bool, impact: Impact) -> float:
    """Confidence after one outcome: high impact +0.05/-0.10, low +0.01/-0.02, clamped to [0, 1].

    Rounded to 6 decimals so that repeated small steps do not drift (0.7 stays 0.7).
    """
    check_confidence(confidence)
    if impact not in _DELTAS:
        raise ValueError(f"impact must be 'high' or 'low', got {impact!r}")
    gain, loss = _DELTAS[impact]
    moved = confidence + (gain if success else loss)
    return round(min(1.0, max(0.0, moved)), 6)


def status_after(current: AgentStatus, confidence: float) -> AgentStatus:
    """Status after a confidence change: paused and deprecated are kept, others follow the score."""
    if current in _HELD_STATUSES:
        return current
    return maturity_for(confidence)


@dataclass(frozen=True, slots=True)
class ConfidenceChange:
    """The before and after of one reported outcome."""

    old_confidence: float
    new_confidence: float
    old_status: AgentStatus
    new_status: AgentStatus

    @property
    def status_changed(self) -> bool:
        return self.old_status != self.new_status


def apply_outcome(
    status: AgentStatus, confidence: float, *, success: bool, impact: Impact
) -> ConfidenceChange:
    """Apply one outcome to an agent's (status, confidence).

    The status is recomputed only when the confidence actually moves: an outcome clamped at 0 or 1
    leaves a status set by hand (or a new agent's ``student``) alone.
    """
    new_confidence = confidence_after(confidence, success=success, impact=impact)
    new_status = status if new_confidence == confidence else status_after(status, new_confidence)
    return ConfidenceChange(
        old_confidence=confidence,
        new_confidence=new_confidence,
        old_status=status,
        new_status=new_status,
    )
