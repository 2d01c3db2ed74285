"""Doubles of the remote services the end-to-end suite's executor talks to, each a real server
on loopback speaking the service's documented wire format: the Slack Web API, Asana REST, a few
plain HTTP APIs (a ticket system, GitHub and calendar connectors, endpoints that fail on purpose)
and an SMTP server (aiosmtpd). Each records what it received, so tests assert on the calls."""

from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.http_double import HttpDouble, Recorded, http_double

SLACK_TOKEN = "xoxb-e2e-0000-slack-token"
ASANA_TOKEN = "1/e2e-asana-personal-access-token"
ASANA_WORKSPACE = "1200000000000001"
ASANA_PROJECTS = {
    "Customer Support": "1200000000000011",
    "Technical Support": "1200000000000012",
    "Billing": "1200000000000013",
    "Sales": "1200000000000014",
    "Website Relaunch": "1200000000000015",
}
CONNECTOR_TOKEN = "ghp_e2e0000connector0000token"
SMTP_FROM = "flows@acme.test"

Reply = tuple[int, Any] | tuple[int, Any, dict[str, str]]


def header(recorded: Recorded, name: str) -> str | None:
    return {key.lower(): value for key, value in recorded.headers.items()}.get(name.lower())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class FakeSlack:
    """chat.postMessage: `ok: true` with a timestamp; a wrong token gets `invalid_auth`. With a
    `latency` the message is posted at once and the answer comes that much later (a lost answer
    then means a posted message)."""

    def __init__(self) -> None:
        self._serial = itertools.count(1)
        self.latency = 0.0

    def respond(self, recorded: Recorded) -> Reply:
        if urlsplit(recorded.path).path != "/chat.postMessage" or recorded.method != "POST":
            return 404, {"ok": False, "error": "unknown_method"}
        if header(recorded, "authorization") != f"Bearer {SLACK_TOKEN}":
            return 200, {"ok": False, "error": "invalid_auth"}
        body = recorded.body if isinstance(recorded.body, dict) else {}
        ts = f"{int(time.time())}.{next(self._serial):06d}"
        time.sleep(self.latency)
        return 200, {
            "ok": True,
            "channel": body.get("channel"),
            "ts": ts,
            "message": {"text": body.get("text")},
        }


class FakeAsana:
    """The workspace's projects (one page) and task creation."""

    def __init__(self) -> None:
        self._serial = itertools.count(1)

    def respond(self, recorded: Recorded) -> Reply:
        if header(recorded, "authorization") != f"Bearer {ASANA_TOKEN}":
            return 401, {"errors": [{"message": "Not Authorized"}]}
        parts = urlsplit(recorded.path)
        if recorded.method == "GET" and parts.path == "/projects":
            if parse_qs(parts.query).get("workspace") != [ASANA_WORKSPACE]:
                return 400, {"errors": [{"message": "workspace: Not a recognized ID"}]}
            data = [
                {"gid": gid, "name": name, "resource_type": "project"} for name, gid in ASANA_PROJECTS.items()
            ]
            return 200, {"data": data, "next_page": None}
        if recorded.method == "POST" and parts.path == "/tasks":
            task = (recorded.body or {}).get("data") or {}
            gid = f"13{next(self._serial):014d}"
            answer = {
                "gid": gid,
                "name": task.get("name"),
                "permalink_url": f"https://app.asana.com/0/0/{gid}",
            }
            return 201, {"data": answer}
        return 404, {"errors": [{"message": "Unknown object"}]}

    @staticmethod
    def tasks(requests: list[Recorded]) -> list[dict[str, Any]]:
        return [
            (r.body or {}).get("data") or {}
            for r in requests
            if r.method == "POST" and urlsplit(r.path).path == "/tasks"
        ]


@dataclass
class FakeApis:
    """Plain HTTP APIs: `/tickets/<id>` (a ticket system), `/github/...` and `/calendar/...` (what the
    GitHub and calendar connectors call; both honour Idempotency-Key the way Stripe does: a repeated
    key returns the first answer and creates nothing), `/flaky/<token>` (503 with Retry-After: 0 on the
    first `flaky_failures` calls per token), `/switch/<token>` (400 while the token is in `broken`),
    `/slow/<token>` (answers after `slow_seconds`, idempotent by key like GitHub)."""

    flaky_failures: int = 2
    slow_seconds: float = 0.15
    ticket_status: dict[str, str] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    calls: Counter[str] = field(default_factory=Counter)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> resource
    slow_in_flight: int = 0  # `/slow` requests received and not answered yet
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def respond(self, recorded: Recorded) -> Reply:
        path = urlsplit(recorded.path).path
        parts = path.strip("/").split("/")
        with self._lock:
            self.calls[path] += 1
            count = self.calls[path]
        if parts[0] == "tickets" and len(parts) == 2:
            return 200, {"id": parts[1], "status": self.ticket_status.get(parts[1], "resolved")}
        if parts[0] in ("github", "calendar", "slow") and recorded.method == "POST":
            if parts[0] != "slow":
                return self._create(recorded, parts[0])
            with self._lock:
                self.slow_in_flight += 1
            try:
                time.sleep(self.slow_seconds)
                return self._create(recorded, parts[0])
            finally:
                with self._lock:
                    self.slow_in_flight -= 1
        if parts[0] == "flaky":
            if count <= self.flaky_failures:
                return 503, {"error": "unavailable"}, {"Retry-After": "0"}
            return 200, {"ok": True, "calls": count}
        if parts[0] == "switch":
            if parts[-1] in self.broken:
                return 400, {"error": "the switch is off"}
            return 200, {"ok": True}
        return 404, {"error": f"no route {path}"}

    def _create(self, recorded: Recorded, kind: str) -> Reply:
        key = header(recorded, "idempotency-key")
        with self._lock:
            if key and key in self.created:
                return 201, self.created[key]
            resource = {"id": next(self._serial), "kind": kind, "request": recorded.body}
            if key:
                self.created[key] = resource
        return 201, resource


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self._lock = threading.Lock()
        self.latency = 0.0  # between keeping a message and saying so

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.envelopes.append(envelope)
        await asyncio.sleep(self.latency)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        parsed = []
        for envelope in list(self.envelopes):
            assert isinstance(envelope.content, bytes)
            message = email.message_from_bytes(
                envelope.content.replace(b"\r\n", b"\n"), policy=email.policy.default
            )
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages() if address in str(m["To"])]


@dataclass
class Doubles:
    slack: HttpDouble
    slack_state: FakeSlack
    asana: HttpDouble
    apis: HttpDouble
    apis_state: FakeApis
    catch_all: HttpDouble  # every other remote API (Notion, Gmail, HubSpot): nothing leaves loopback
    smtp_port: int
    inbox: Inbox

    def slack_texts(self, needle: str) -> list[str]:
        bodies = [r.body for r in list(self.slack.requests) if isinstance(r.body, dict)]
        return [str(b.get("text")) for b in bodies if needle in str(b.get("text"))]

    def asana_tasks(self, needle: str) -> list[dict[str, Any]]:
        return [t for t in FakeAsana.tasks(list(self.asana.requests)) if needle in str(t)]

    def api_requests(self, prefix: str) -> list[Recorded]:
        return [r for r in list(self.apis.requests) if urlsplit(r.path).path.startswith(prefix)]

    def connections(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """The tenant's connections to these doubles: name -> (service, secrets)."""
        connector_auth = {"scheme": "bearer", "token": CONNECTOR_TOKEN}
        return {
            "slack": ("slack", {"bot_token": SLACK_TOKEN}),
            "asana": ("asana", {"token": ASANA_TOKEN, "workspace": ASANA_WORKSPACE}),
            "smtp": (
                "smtp",
                {"host": "127.0.0.1", "port": self.smtp_port, "security": "none", "from_address": SMTP_FROM},
            ),
            "github": (
                "connector",
                {
                    "base_url": f"{self.apis.url}/github",
                    "auth": connector_auth,
                    "actions": {
                        "create_repo": {
                            "method": "POST",
                            "path": "/orgs/acme/repos",
                            "body": {"name": "{name}"},
                        }
                    },
                },
            ),
            "calendar": (
                "connector",
                {
                    "base_url": f"{self.apis.url}/calendar",
                    "auth": connector_auth,
                    "actions": {
                        "schedule_meeting": {
                            "method": "POST",
                            "path": "/meetings",
                            "body": {"title": "{title}", "duration_minutes": "{duration_minutes}"},
                        }
                    },
                },
            ),
        }


@contextmanager
def remote_doubles() -> Iterator[Doubles]:
    apis_state = FakeApis()
    inbox = Inbox()
    with ExitStack() as stack:
        slack_state = FakeSlack()
        slack = stack.enter_context(http_double(slack_state.respond))
        asana = stack.enter_context(http_double(FakeAsana().respond))
        apis = stack.enter_context(http_double(apis_state.respond))
        catch_all = stack.enter_context(http_double(lambda _r: (404, {"error": "not doubled"})))
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        stack.callback(controller.stop)
        yield Doubles(slack, slack_state, asana, apis, apis_state, catch_all, controller.port, inbox)
