"""Bearer credentials that are not flowbus API keys go to the service's TokenVerifier (the seam
JWTs plug into); API keys never do. Tokens are rate limited per subject like keys."""

from __future__ import annotations

from flowbus_shared.auth import Principal
from flowbus_shared.http.settings import HttpSettings
from tests.integration.http_platform.conftest import Serve


class TinyVerifier:
    """Knows one token; remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def verify(self, token: str) -> Principal | None:
        self.asked.append(token)
        if token == "tok-alice":
            return Principal("acme", "viewer", "tok:alice")
        return None


async def test_a_token_is_verified_by_the_token_verifier(serve: Serve) -> None:
    verifier = TinyVerifier()
    async with serve(tokens=verifier) as served, served.anonymous() as anonymous:
        known = await anonymous.get("/v1/things/t-1", headers={"authorization": "Bearer tok-alice"})
        unknown = await anonymous.get("/v1/things/t-1", headers={"authorization": "Bearer tok-mallory"})
    assert known.status_code == 200
    assert known.json()["tenant"] == "acme"
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "the bearer token is invalid or expired"
    assert unknown.json()["error"]["code"] == "invalid_token"
    assert unknown.headers["www-authenticate"] == 'Bearer realm="flowbus"'
    assert verifier.asked == ["tok-alice", "tok-mallory"]


async def test_api_keys_are_never_handed_to_the_token_verifier(serve: Serve) -> None:
    verifier = TinyVerifier()
    async with serve(tokens=verifier) as served:
        async with served.client() as client:
            valid = await client.get("/v1/things/t-1")
        async with served.anonymous(headers={"authorization": "Bearer fbk_0000_forged"}) as forged:
            invalid = await forged.get("/v1/things/t-1")
    assert valid.status_code == 200
    assert invalid.status_code == 401
    assert invalid.json()["detail"] == "the API key is unknown or revoked"
    assert verifier.asked == []


async def test_without_a_verifier_a_token_is_refused_with_the_reason(serve: Serve) -> None:
    async with serve() as served, served.anonymous() as anonymous:
        answer = await anonymous.get("/v1/things/t-1", headers={"authorization": "Bearer tok-alice"})
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the bearer credential is not a flowbus API key (fbk_...)"


async def test_a_tokens_subject_is_rate_limited_like_a_key(serve: Serve) -> None:
    settings = HttpSettings(api_rate_limit_per_second=1, api_rate_limit_burst=1)
    async with serve(tokens=TinyVerifier(), settings=settings) as served, served.anonymous() as anonymous:
        headers = {"authorization": "Bearer tok-alice"}
        statuses = [(await anonymous.get("/v1/things/t-1", headers=headers)).status_code for _ in range(2)]
        served.clock.now += 1
        refilled = await anonymous.get("/v1/things/t-1", headers=headers)
    assert statuses == [200, 429]
    assert refilled.status_code == 200
