"""JWT claims as the verifier reads them: HS256 only, required claims, audience, issuer,
expiry, person roles only; each refusal says why (and never repeats the token)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from flowbus_shared.auth import TokenRefused, decode_claims, issue_token
from flowbus_shared.auth.jwt_tokens import TokenClaims

SECRET = "s" * 64  # long enough for HS512 too (the attacker's algorithm below)
NOW = datetime.now(UTC)


def signed(claims: dict[str, Any], *, secret: str = SECRET, algorithm: str = "HS256") -> str:
    base = {
        "sub": "ada",
        "tenant": "acme",
        "role": "operator",
        "aud": "flowbus",
        "exp": NOW + timedelta(hours=1),
    }
    return jwt.encode(
        {k: v for k, v in (base | claims).items() if v is not None}, secret, algorithm=algorithm
    )


def unsigned(claims: dict[str, Any]) -> str:
    """An `alg: none` token, as an attacker would write it."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    exp = int((NOW + timedelta(hours=1)).timestamp())
    body = {"sub": "ada", "tenant": "acme", "role": "admin", "aud": "flowbus", "exp": exp} | claims
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(body)}."


def test_an_issued_token_reads_back_as_its_claims() -> None:
    token = issue_token(SECRET, subject="ada", tenant_id="acme", role="admin", ttl_seconds=60, issuer="idp")
    assert decode_claims(token, SECRET, audience="flowbus", issuer="idp") == TokenClaims(
        "ada", "acme", "admin"
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (signed({"exp": NOW - timedelta(seconds=5)}), "expired"),
        (signed({"aud": "someone-else"}), r"(?i)audience"),
        (signed({"aud": None}), "aud"),
        (signed({"role": "root"}), "role must be one of admin, operator, viewer"),
        (signed({"role": "service"}), "role must be one of admin, operator, viewer"),
        (signed({"tenant": None}), "tenant"),
        (signed({"tenant": ""}), "tenant must be a non-empty string"),
        (signed({"sub": None}), "sub"),
        (signed({"exp": None}), "exp"),
        (signed({}, secret="t" * 64), "Signature verification failed"),
        (signed({}, algorithm="HS512"), "'HS512' is not accepted"),
        (unsigned({}), "'none' is not accepted"),
        ("not.a.token", "Invalid"),
        ("x" * 9000, "too long"),
    ],
)
def test_tokens_are_refused_with_the_reason(token: str, reason: str) -> None:
    with pytest.raises(TokenRefused, match=reason) as refused:
        decode_claims(token, SECRET, audience="flowbus")
    assert token not in str(refused.value)


def test_an_issuer_is_checked_only_when_configured() -> None:
    token = signed({"iss": "elsewhere"})
    assert decode_claims(token, SECRET, audience="flowbus").subject == "ada"
    with pytest.raises(TokenRefused, match=r"(?i)issuer"):
        decode_claims(token, SECRET, audience="flowbus", issuer="idp")
    with pytest.raises(TokenRefused, match="iss"):
        decode_claims(signed({}), SECRET, audience="flowbus", issuer="idp")


def test_issuing_needs_a_long_secret_a_person_role_and_a_lifetime() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        issue_token("short", subject="ada", tenant_id="acme", role="admin", ttl_seconds=60)
    with pytest.raises(ValueError, match="role"):
        issue_token(SECRET, subject="ada", tenant_id="acme", role="service", ttl_seconds=60)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lifetime"):
        issue_token(SECRET, subject="ada", tenant_id="acme", role="admin", ttl_seconds=0)
