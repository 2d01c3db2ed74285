"""email_send against a real SMTP server (aiosmtpd on loopback): plain, HTML, templates, AUTH,
STARTTLS and implicit TLS with a certificate made here, and how each failure is classified."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flowbus_executor.deps import ExecutorDeps
from flowbus_executor.executors.email import handlers
from flowbus_shared.step_worker import StepFailure
from tests.support.executor_deps import TENANT, executor_deps, step_request

PASSWORD = "s3cret-Passw0rd"
SENDER = "flows@acme.test"


class Inbox:
    """An aiosmtpd handler that keeps what it receives; refuses `nobody@` (550), defers `busy@` (450)."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        if address.startswith("busy@"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def message(self) -> EmailMessage:
        (envelope,) = self.envelopes
        assert isinstance(envelope.content, bytes)
        # The wire has CRLF line ends; compare texts with plain newlines.
        parsed = email.message_from_bytes(
            envelope.content.replace(b"\r\n", b"\n"), policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        return parsed


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"mailer", PASSWORD.encode())
    # handled=False: aiosmtpd then answers 535 itself (handled=True would leave the client waiting).
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    # aiosmtpd's Controller connects to its own port to check it is up, so it needs a real number.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# aiosmtpd warns about AUTH over plain text; these tests do it on purpose (the brief's "plain case").
_PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")

Serve = Callable[..., tuple[int, Inbox]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start an SMTP server with the given aiosmtpd options; returns its port and its inbox."""
    controllers: list[Controller] = []

    def start(**options: Any) -> tuple[int, Inbox]:
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
        controller.start()
        controllers.append(controller)
        return controller.port, inbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A self-signed certificate for localhost / 127.0.0.1: (cert file, key file, cert PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flowbus test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (folder / "cert.pem").write_text(pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return folder / "cert.pem", folder / "key.pem", pem


def server_tls(certificate: tuple[Path, Path, str]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate[0], certificate[1])
    return context


@pytest.fixture
async def deps(tmp_path: Path) -> AsyncIterator[ExecutorDeps]:
    async with executor_deps(tmp_path / "x.db") as value:
        yield value


async def store(deps: ExecutorDeps, port: int, **secrets: Any) -> None:
    base = {"host": "127.0.0.1", "port": port, "security": "none", "from_address": SENDER}
    await deps.vault.put(TENANT, str(secrets.pop("name", "smtp")), "smtp", base | secrets)


async def send(deps: ExecutorDeps, **config: Any) -> dict[str, Any]:
    return await handlers(deps)["email_send"](step_request("email_send", config))


async def failure(deps: ExecutorDeps, **config: Any) -> StepFailure:
    with pytest.raises(StepFailure) as caught:
        await send(deps, **config)
    return caught.value


async def test_plain_message_reaches_the_server_with_its_headers(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve()
    await store(deps, port)

    output = await send(
        deps,
        recipient="ada@example.com, Bob <bob@example.com>",
        cc=["carol@example.com"],
        reply_to="help@acme.test",
        subject="Your order",
        content="It has shipped.\nThanks!",
    )

    (envelope,) = inbox.envelopes
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == ["ada@example.com", "bob@example.com", "carol@example.com"]
    message = inbox.message()
    assert message["From"] == SENDER
    assert message["To"] == "ada@example.com, Bob <bob@example.com>"
    assert message["Cc"] == "carol@example.com"
    assert message["Reply-To"] == "help@acme.test"
    assert message["Subject"] == "Your order"
    key = step_request("email_send", {}).idempotency_key
    assert message["Message-ID"] == f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@flowbus>"
    assert message["Date"] is not None
    assert not message.is_multipart()
    assert message.get_content() == "It has shipped.\nThanks!\n"
    assert output["recipient"] == ["ada@example.com", "bob@example.com"]
    assert output["subject"] == "Your order"
    assert output["message_id"] == message["Message-ID"]
    assert dt.datetime.fromisoformat(output["sent_at"]).tzinfo is not None


async def test_html_is_sent_as_an_alternative_to_the_plain_text(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve()
    await store(deps, port)

    await send(deps, email=["ada@example.com"], subject="Hi", content="plain", html="<p><b>rich</b></p>")

    message = inbox.message()
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content() == "plain\n"
    assert rich.get_content() == "<p><b>rich</b></p>\n"


async def test_template_fills_its_placeholders_from_variables(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve()
    await store(deps, port)

    output = await send(
        deps,
        template="project_kickoff",
        recipient="team@example.com",
        variables={"project_name": "Apollo <2>", "signature": "Mission control"},
    )

    message = inbox.message()
    assert message["Subject"] == output["subject"] == "Project Apollo <2> has started"
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert rich is not None
    assert "Project Apollo <2> has started." in plain.get_content()
    assert "Mission control" in plain.get_content()
    # Values are escaped in HTML, so a variable cannot inject markup.
    assert "Apollo &lt;2&gt;" in rich.get_content()
    assert "Apollo <2>" not in rich.get_content()


async def test_explicit_subject_and_content_override_the_template(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve()
    await store(deps, port)

    await send(
        deps,
        template="ticket_acknowledgment",
        recipient="ada@example.com",
        subject="We received your request",
        content="Thank you, we are looking into: refund",
    )

    message = inbox.message()
    assert message["Subject"] == "We received your request"
    plain = message.get_body(preferencelist=("plain",))
    rich = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert rich is not None
    assert plain.get_content() == "Thank you, we are looking into: refund\n"
    assert "Thank you, we are looking into: refund" in rich.get_content()


async def test_a_placeholder_without_a_value_is_a_permanent_config_error(
    deps: ExecutorDeps, serve: Serve
) -> None:
    port, inbox = serve()
    await store(deps, port)

    error = await failure(deps, template="project_kickoff", recipient="team@example.com")

    assert (error.error_type, error.retryable) == ("invalid_config", False)
    assert "project_name" in error.message
    assert inbox.envelopes == []
    unknown = await failure(deps, template="no_such_template", recipient="a@example.com")
    assert unknown.error_type == "invalid_config"
    assert "welcome" in unknown.message


@_PLAIN_AUTH
async def test_auth_with_username_and_password(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve(authenticator=authenticator, auth_require_tls=False, auth_required=True)
    await store(deps, port, username="mailer", password=PASSWORD)

    await send(deps, recipient="ada@example.com", subject="Hi", content="authenticated")

    assert inbox.message().get_content() == "authenticated\n"


@_PLAIN_AUTH
async def test_wrong_password_is_a_permanent_unauthorized_without_the_password(
    deps: ExecutorDeps, serve: Serve
) -> None:
    port, inbox = serve(authenticator=authenticator, auth_require_tls=False, auth_required=True)
    wrong = "Wr0ng-Passw0rd"
    await store(deps, port, username="mailer", password=wrong)

    error = await failure(deps, recipient="ada@example.com", subject="Hi", content="x")

    assert (error.error_type, error.retryable) == ("unauthorized", False)
    assert wrong not in error.message
    assert wrong not in str(error)
    assert inbox.envelopes == []


async def test_starttls_with_a_trusted_self_signed_certificate(
    deps: ExecutorDeps, serve: Serve, certificate: tuple[Path, Path, str]
) -> None:
    port, inbox = serve(
        tls_context=server_tls(certificate), require_starttls=True, authenticator=authenticator
    )
    # AUTH only after STARTTLS here (aiosmtpd's default), so this also proves the upgrade happened.
    await store(
        deps, port, security="starttls", ca_cert_pem=certificate[2], username="mailer", password=PASSWORD
    )

    await send(deps, recipient="ada@example.com", subject="Secure", content="over TLS")

    assert inbox.message().get_content() == "over TLS\n"


async def test_starttls_refuses_an_untrusted_certificate_for_good(
    deps: ExecutorDeps, serve: Serve, certificate: tuple[Path, Path, str]
) -> None:
    port, inbox = serve(tls_context=server_tls(certificate), require_starttls=True)
    await store(deps, port, security="starttls")

    error = await failure(deps, recipient="ada@example.com", subject="Secure", content="x")

    assert (error.error_type, error.retryable) == ("tls_error", False)
    assert inbox.envelopes == []


async def test_certificate_checks_can_be_turned_off(
    deps: ExecutorDeps, serve: Serve, certificate: tuple[Path, Path, str]
) -> None:
    port, inbox = serve(tls_context=server_tls(certificate), require_starttls=True)
    await store(deps, port, security="starttls", validate_certs="false")

    await send(deps, recipient="ada@example.com", subject="Secure", content="unchecked")

    assert inbox.message().get_content() == "unchecked\n"


async def test_implicit_tls(deps: ExecutorDeps, serve: Serve, certificate: tuple[Path, Path, str]) -> None:
    port, inbox = serve(ssl_context=server_tls(certificate))
    await store(deps, port, security="ssl", ca_cert_pem=certificate[2])

    await send(deps, recipient="ada@example.com", subject="Wrapped", content="from the first byte")

    assert inbox.message().get_content() == "from the first byte\n"


async def test_a_refused_recipient_is_a_permanent_bad_request(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve()
    await store(deps, port)

    error = await failure(deps, recipient="nobody@example.com", subject="Hi", content="x")

    assert (error.error_type, error.retryable) == ("bad_request", False)
    assert "nobody@example.com" in error.message
    assert inbox.envelopes == []


async def test_a_temporarily_refused_recipient_is_retryable(deps: ExecutorDeps, serve: Serve) -> None:
    port, _ = serve()
    await store(deps, port)

    error = await failure(deps, recipient="busy@example.com", subject="Hi", content="x")

    assert (error.error_type, error.retryable) == ("temporary", True)


async def test_some_recipients_refused_still_sends_and_reports_them(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve()
    await store(deps, port)

    output = await send(deps, recipient=["ada@example.com", "nobody@example.com"], subject="Hi", content="x")

    assert inbox.envelopes[0].rcpt_tos == ["ada@example.com"]
    assert output["recipient"] == ["ada@example.com"]
    assert list(output["refused"]) == ["nobody@example.com"]


async def test_server_down_is_a_retryable_connection_error(deps: ExecutorDeps) -> None:
    await store(deps, free_port(), password=PASSWORD, username="mailer")

    error = await failure(deps, recipient="ada@example.com", subject="Hi", content="x")

    assert (error.error_type, error.retryable) == ("connection", True)
    assert PASSWORD not in error.message


async def test_a_server_that_never_answers_is_a_retryable_timeout(deps: ExecutorDeps) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, never greets: the client waits for a 220 that never comes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with server:
        await store(deps, server.sockets[0].getsockname()[1])
        request = step_request(
            "email_send", {"recipient": "a@example.com", "subject": "Hi", "content": "x"}, timeout_seconds=0.3
        )
        with pytest.raises(StepFailure) as caught:
            await handlers(deps)["email_send"](request)

    assert (caught.value.error_type, caught.value.retryable) == ("timeout", True)


async def test_missing_connection_is_permanent(deps: ExecutorDeps) -> None:
    error = await failure(deps, recipient="ada@example.com", subject="Hi", content="x")

    assert (error.error_type, error.retryable) == ("missing_connection", False)


async def test_a_named_connection_is_used(deps: ExecutorDeps, serve: Serve) -> None:
    port, inbox = serve()
    await store(deps, port, name="marketing", from_address="news@acme.test")

    await send(deps, connection="marketing", recipient="ada@example.com", subject="Hi", content="x")

    assert inbox.message()["From"] == "news@acme.test"


@pytest.mark.parametrize(
    "config",
    [
        {"subject": "Hi", "content": "x"},
        {"recipient": "", "subject": "Hi", "content": "x"},
        {"recipient": "not-an-address", "subject": "Hi", "content": "x"},
        {"recipient": "ada@example.com", "content": "x"},
        {"recipient": "ada@example.com", "subject": "Hi\r\nBcc: eve@example.com", "content": "x"},
    ],
)
async def test_bad_config_is_a_permanent_invalid_config(
    deps: ExecutorDeps, serve: Serve, config: dict[str, Any]
) -> None:
    port, inbox = serve()
    await store(deps, port)

    error = await failure(deps, **config)

    assert (error.error_type, error.retryable) == ("invalid_config", False)
    assert inbox.envelopes == []
