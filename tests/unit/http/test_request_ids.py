"""Which incoming request ids are kept."""

from __future__ import annotations

import re

import pytest

from flowbus_shared.http.request_ids import request_id_of


@pytest.mark.parametrize("incoming", ["abc", "checkout-42.a", "0f" * 16, "svc:req/7+x=y@z", "x" * 128])
def test_a_sane_id_is_kept(incoming: str) -> None:
    assert request_id_of([(b"accept", b"*/*"), (b"x-request-id", incoming.encode())]) == incoming


@pytest.mark.parametrize(
    "incoming", [b"", b"has space", b"x" * 129, b'quote"d', b"<script>", b"new\nline", "caf\u00e9".encode()]
)
def test_an_odd_or_missing_id_is_replaced(incoming: bytes) -> None:
    for headers in ([(b"x-request-id", incoming)], []):
        assert re.fullmatch(r"[0-9a-f]{32}", request_id_of(headers))
