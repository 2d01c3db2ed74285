"""Identity settings from the environment: JWTs off without a secret, a short secret refused
without being printed back."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from flowbus_shared.identity import IdentitySettings


def test_defaults_refuse_jwts_and_name_the_platform_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "FLOWBUS_JWT_SECRET",
        "FLOWBUS_JWT_ISSUER",
        "FLOWBUS_PLATFORM_TENANT",
        "FLOWBUS_JWT_AUDIENCE",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = IdentitySettings()
    assert (settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer) == (None, "flowbus", None)
    assert (settings.platform_tenant, settings.credential_cache_seconds) == ("platform", 10.0)


def test_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBUS_JWT_SECRET", "k" * 32)
    monkeypatch.setenv("FLOWBUS_JWT_ISSUER", "https://idp.example")
    monkeypatch.setenv("FLOWBUS_PLATFORM_TENANT", "ops")
    monkeypatch.setenv("FLOWBUS_CREDENTIAL_CACHE_SECONDS", "0")
    settings = IdentitySettings()
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.get_secret_value() == "k" * 32
    assert "k" * 32 not in repr(settings)
    assert (settings.jwt_issuer, settings.platform_tenant, settings.credential_cache_seconds) == (
        "https://idp.example",
        "ops",
        0,
    )


def test_an_empty_secret_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBUS_JWT_SECRET", "")
    assert IdentitySettings().jwt_secret is None


def test_a_short_secret_is_refused_without_being_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWBUS_JWT_SECRET", "hunter2-too-short")
    with pytest.raises(ValidationError) as refused:
        IdentitySettings()
    assert "at least 32 characters" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_every_setting_is_described() -> None:
    assert all(field.description for field in IdentitySettings.model_fields.values())
