"""email_send: one message over SMTP (aiosmtplib) with a tenant's `smtp` connection.

config (resolved): `recipient` (else `email`) and `cc` (an address, comma-separated addresses or a
list), `subject`, `content` (plain text), optional `html`, `reply_to`, `template` (built-in) with
`variables`, `connection` (default "smtp"). A template supplies what the config does not give.
Connection secrets: `host`, `port`, `security` (starttls | ssl | none), optional `username` and
`password`, `from_address`, optional `ca_cert_pem` (a CA to trust, e.g. a private relay's) and
`validate_certs` (default true). AUTH refused -> `unauthorized`, recipients refused ->
`bad_request`, network trouble and 4xx replies retryable, 5xx permanent; no secret in messages.
"""

from __future__ import annotations

import email.utils
import hashlib
import html as html_lib
import ssl
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

import aiosmtplib

from flowbus_executor.deps import ExecutorDeps, connection_for, require, secret
from flowbus_executor.http import redact
from flowbus_shared.schemas import StepRequest
from flowbus_shared.step_worker import StepFailure, StepHandler
from flowbus_shared.vault import Connection

_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_LAYOUT = '<!DOCTYPE html>\n<html><body style="font-family: sans-serif">\n$body\n</body></html>\n'


def _greeting(body: str) -> str:
    return "Hello ${name},\n\n" + body + "\n\n${signature}"


@dataclass(frozen=True)
class Template:
    """`$name` is filled from `variables`, `defaults`, or recipient / subject / content."""

    subject: str
    text: str
    html: str
    defaults: Mapping[str, str] = field(default_factory=lambda: {"name": "there", "signature": "The team"})


_HEADED = "<h2>$subject</h2>\n<p>$content</p>"
_REPLY = "Reply to this email whenever you want to talk."
TEMPLATES: dict[str, Template] = {
    "ticket_acknowledgment": Template(
        "We received your request",
        _greeting("Thank you for contacting us. We received your request and will get back to you soon."),
        "<p>$content</p>\n<p><small>Reply to this email to add to your request.</small></p>",
    ),
    "billing_forward": Template(
        "Billing ticket from ${customer}",
        "A billing request arrived from ${customer} and needs a look from finance.",
        "<h2>Billing request</h2>\n<p>$content</p>",
        {"customer": "a customer"},
    ),
    "project_kickoff": Template(
        "Project ${project_name} has started",
        _greeting("Project ${project_name} has started. The kick-off invitation follows."),
        _HEADED,
        {"name": "all", "signature": "The project team"},
    ),
    "satisfaction_survey": Template(
        "How did we do?",
        _greeting("Your request is resolved. How did we do? Reply with a rating from 1 to 5."),
        "<p>$content</p>\n<p>Reply with a rating from 1 (poor) to 5 (excellent).</p>",
    ),
    "welcome": Template("Welcome", _greeting("Thanks for your interest. We will be in touch soon."), _HEADED),
    "nurture_sequence": Template(
        "A few ideas for you",
        _greeting(f"Here are a few ideas on how we could help you. {_REPLY}"),
        f"<p>$content</p>\n<p>{_REPLY}</p>",
    ),
    "newsletter_welcome": Template(
        "Welcome to our newsletter",
        _greeting("You are now subscribed to our newsletter."),
        _HEADED + "\n<p><small>You subscribed as $recipient.</small></p>",
    ),
}


def _fill(template: str, values: Mapping[str, str], where: str) -> str:
    try:
        return string.Template(template).substitute(values)
    except KeyError as missing:
        # A literal `$name` left in a customer's email is worse than a failed step.
        raise StepFailure("invalid_config", f"{where} needs variable {missing.args[0]!r}") from None
    except ValueError as error:
        raise StepFailure("invalid_config", f"{where}: {error}") from None


def compose(config: dict[str, Any], recipients: list[str]) -> tuple[str, str, str | None]:
    """(subject, plain text, HTML or None): the explicit config, completed by the named template."""
    subject, text, html = (str(config.get(key) or "") for key in ("subject", "content", "html"))
    name = str(config.get("template") or "")
    if not name:
        require(config, "subject", "content")
        return subject, text, html or None
    template = TEMPLATES.get(name)
    if template is None:
        raise StepFailure("invalid_config", f"unknown template {name!r}; known: {', '.join(TEMPLATES)}")
    variables = config.get("variables") or {}
    if not isinstance(variables, Mapping):
        raise StepFailure("invalid_config", "variables must be a mapping")
    values = {**template.defaults, **{str(key): str(value) for key, value in variables.items()}}
    values["recipient"] = ", ".join(recipients)
    values["subject"] = subject = subject or _fill(template.subject, values, f"template {name}.subject")
    values["content"] = text = text or _fill(template.text, values, f"template {name}.text")
    if not html:
        # Escaped, so a variable cannot inject markup; line breaks of the plain text stay visible.
        escaped = {key: html_lib.escape(value).replace("\n", "<br>\n") for key, value in values.items()}
        html = _fill(_LAYOUT, {"body": _fill(template.html, escaped, f"template {name}.html")}, "layout")
    return subject, text, html


def addresses(value: Any, name: str) -> list[tuple[str, str]]:
    """(display name, address) pairs from a string (maybe comma-separated) or a list of them."""
    items = value if isinstance(value, list | tuple) else [value]
    pairs = [pair for pair in email.utils.getaddresses([str(item) for item in items if item]) if pair[1]]
    invalid = [address for _, address in pairs if "@" not in address]
    if invalid:
        raise StepFailure("invalid_config", f"{name}: not an email address: {', '.join(invalid)}")
    return pairs


def message_id(request: StepRequest) -> str:
    # One per attempt: a redelivered request carries the same Message-ID, so a duplicate is
    # recognisable downstream; a retry or a loop's next visit is a new attempt, hence a new message.
    return f"<{hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:32]}@flowbus>"


def build_message(
    request: StepRequest, headers: dict[str, str], text: str, html: str | None, now: datetime
) -> EmailMessage:
    message = EmailMessage()
    try:
        for header, value in headers.items():
            if value:
                message[header] = value
    except ValueError as error:  # e.g. a line break in a value: refuse rather than inject headers
        raise StepFailure("invalid_config", f"invalid {header}: {error}") from None
    message["Message-ID"] = message_id(request)
    message["Date"] = email.utils.format_datetime(now)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def transport(connection: Connection) -> dict[str, Any]:
    """aiosmtplib.send keyword arguments for the connection."""
    secrets, where = connection.secrets, f"connection {connection.name!r}"
    security = str(secrets.get("security") or "starttls").lower()
    if security not in _DEFAULT_PORTS:
        raise StepFailure("invalid_connection", f"{where}: unknown security {security!r}")
    try:
        port = int(secrets.get("port") or _DEFAULT_PORTS[security])
    except ValueError:
        raise StepFailure("invalid_connection", f"{where}: port is not a number") from None
    validate = str(secrets.get("validate_certs", True)).strip().lower() not in {"false", "0", "no"}
    options: dict[str, Any] = {
        "hostname": secret(connection, "host"),
        "port": port,
        "use_tls": security == "ssl",
        # Explicitly False for "none": aiosmtplib would otherwise upgrade when the server offers it.
        "start_tls": security == "starttls",
        "validate_certs": validate,
    }
    if secrets.get("username"):
        options["username"] = str(secrets["username"])
        options["password"] = str(secrets.get("password") or "")
    if secrets.get("ca_cert_pem") and validate:
        context = ssl.create_default_context()
        try:
            context.load_verify_locations(cadata=str(secrets["ca_cert_pem"]))
        except ssl.SSLError:
            raise StepFailure("invalid_connection", f"{where}: bad ca_cert_pem") from None
        options["tls_context"] = context
    return options


def classify(error: Exception, where: str) -> tuple[str, str, bool]:
    """An aiosmtplib / network error as (error type, message, retryable)."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{item.recipient} ({item.code} {item.message})" for item in error.recipients)
        if all(400 <= item.code < 500 for item in error.recipients):
            return "temporary", f"{where}: recipients deferred: {refused}", True
        return "bad_request", f"{where}: recipients refused: {refused}", False
    if isinstance(error, aiosmtplib.SMTPTimeoutError):  # before SMTPConnectError: it is both
        return "timeout", f"{where}: {error.message}", True
    if isinstance(error, aiosmtplib.SMTPResponseException):
        detail = f"{where}: server replied {error.code} {error.message}"
        if 400 <= error.code < 500:
            return "temporary", detail, True
        if isinstance(error, aiosmtplib.SMTPAuthenticationError):
            return "unauthorized", detail, False
        return "rejected", detail, False
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in (error, error.__cause__)):
        # Retrying cannot make an untrusted certificate trusted: the connection needs fixing.
        return "tls_error", f"{where}: certificate not trusted: {error}", False
    if isinstance(error, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError | OSError):
        # Refused or dropped connections, DNS failures, TLS handshakes cut short: worth another try.
        return "connection", f"{where}: {type(error).__name__}: {error}", True
    # What is left (SMTPException, SMTPNotSupported) says the server lacks what the connection asks
    # for, e.g. STARTTLS or AUTH: the same server would fail the same way again.
    return "invalid_connection", f"{where}: {error}", False


def handlers(deps: ExecutorDeps) -> dict[str, StepHandler]:
    async def email_send(request: StepRequest) -> dict[str, Any]:
        config = request.config
        to = addresses(config.get("recipient") or config.get("email"), "recipient")
        if not to:
            raise StepFailure("invalid_config", "missing recipient")
        cc = addresses(config.get("cc"), "cc")
        recipients = [address for _, address in to]
        subject, text, html = compose(config, recipients)
        connection = await connection_for(deps, request, "smtp")
        options = transport(connection)
        now = datetime.now(UTC)
        headers = {"From": secret(connection, "from_address"), "To": ", ".join(map(formataddr, to))}
        headers |= {"Cc": ", ".join(map(formataddr, cc)), "Reply-To": str(config.get("reply_to") or "")}
        message = build_message(request, headers | {"Subject": subject}, text, html, now)
        try:
            refused, _ = await aiosmtplib.send(message, timeout=request.timeout_seconds, **options)
        except (aiosmtplib.SMTPException, OSError) as error:
            kind, detail, retryable = classify(error, f"SMTP connection {connection.name!r}")
            raise StepFailure(kind, redact(detail, connection.secret_values()), retryable=retryable) from None
        return {
            "recipient": [address for address in recipients if address not in refused],
            "subject": subject,
            "message_id": message["Message-ID"],
            "sent_at": now.isoformat(),
            # Some refused, others accepted: the message is out, so the step succeeds (a retry would
            # send it twice) and names who did not get it.
            "refused": {address: f"{reply.code} {reply.message}" for address, reply in refused.items()},
        }

    return {"email_send": email_send}
