"""URLs recorded on HTTP client spans never carry query values or credentials."""

from __future__ import annotations

import pytest

from flowbus_shared.http_tracing import redacted_url


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        ("https://api.example.com/v1/items", "https://api.example.com/v1/items"),
        (
            "https://generativelanguage.example/v1/models/g:generate?key=AIza-secret",
            "https://generativelanguage.example/v1/models/g:generate?key=REDACTED",
        ),
        ("https://user:pa55@host.example:8443/p?a=1&b=", "https://host.example:8443/p?a=REDACTED&b=REDACTED"),
        ("http://[::1]:9000/x?token=t", "http://[::1]:9000/x?token=REDACTED"),
    ],
)
def test_query_values_and_credentials_are_redacted(url: str, recorded: str) -> None:
    assert redacted_url(url) == recorded
