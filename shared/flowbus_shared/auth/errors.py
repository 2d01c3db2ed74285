"""Why an identity change was refused, in words fit for the caller (HTTP maps each kind to a
status, the CLI prints the message). They are ValueErrors so callers that only know
"bad input" still treat them as such."""

from __future__ import annotations


class IdentityError(ValueError):
    """The base: the message says what was wrong and never contains a secret."""


class NotFound(IdentityError):
    """No such tenant, user or key (in the caller's tenant)."""


class Conflict(IdentityError):
    """It exists already, is revoked or disabled: the request does not fit the current state."""


class Forbidden(IdentityError):
    """The request would give more power than allowed (e.g. a key stronger than its user)."""
