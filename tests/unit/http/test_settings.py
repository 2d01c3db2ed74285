"""HttpSettings: defaults, the environment, and origins that are not origins."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowbus_shared.http.settings import HttpSettings


def test_defaults_allow_no_cross_origin_calls_and_a_mebibyte_of_body(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CORS_ORIGINS", "MAX_BODY_BYTES", "RATE_LIMIT_PER_SECOND", "RATE_LIMIT_BURST"):
        monkeypatch.delenv(f"FLOWBUS_API_{name}", raising=False)
    settings = HttpSettings()
    assert settings.api_cors_origins == []
    assert settings.api_max_body_bytes == 1024 * 1024
    assert settings.api_rate_limit_per_second > 0
    assert settings.api_rate_limit_burst >= 1


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBUS_API_CORS_ORIGINS", '["https://ops.example.com", "http://127.0.0.1:5173"]')
    monkeypatch.setenv("FLOWBUS_API_RATE_LIMIT_PER_SECOND", "0")
    settings = HttpSettings()
    assert settings.api_cors_origins == ["https://ops.example.com", "http://127.0.0.1:5173"]
    assert settings.api_rate_limit_per_second == 0


@pytest.mark.parametrize("origin", ["ops.example.com", "https://ops.example.com/app", "ftp://x", "https://"])
def test_an_origin_with_a_path_or_without_a_scheme_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="scheme://host"):
        HttpSettings(api_cors_origins=[origin])


def test_every_setting_has_a_description() -> None:
    assert all(field.description for field in HttpSettings.model_fields.values())
