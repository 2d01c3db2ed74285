"""A scripted OpenAI Chat Completions double for the end-to-end suite: a real HTTP server on
loopback that the llm-gateway reaches as the tenant's `openai` provider (its key stored with
this server's base URL). Its "model" is a script the test writes into the text it sends:

- structured answers (`response_format: json_schema`, what nlu_analysis asks for): every property
  of the asked schema is filled from `name=value` directives in the user's text (`;` or a line end
  closes a value; JSON values are read as JSON; `entities.contract_id=C-17` nests), else from a
  default (intent, priority, category, confidence, tasks, entities, sentiment);
- tool calling (a request offering `tools`, what agent steps send): the first round calls the tool
  named by `call <tool> <json arguments>` in the goal; once a tool result is in the conversation it
  answers in plain text, quoting that result;
- anything else: a short plain answer.

`e2e_sleep=SECONDS` in the text makes the answer take that long (a slow model keeps calls in flight).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.http_double import HttpDouble, Recorded, chat_completion, http_double

DIRECTIVE = re.compile(r"([A-Za-z_][\w.]*)=([^;\n]+)")
TOOL_CALL = re.compile(r"call (\w+) (\{.*\})", re.DOTALL)
DEFAULTS: dict[str, Any] = {
    "intent": "help request",
    "entities": {},
    "priority": "normal",
    "category": "general",
    "confidence": 0.93,
    "tasks": [],
    "sentiment": "neutral",
}


def directives(text: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, raw in DIRECTIVE.findall(text):
        try:
            value: Any = json.loads(raw.strip())
        except ValueError:
            value = raw.strip()
        target = values
        *parents, last = name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return values


def _user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body.get("messages", []) if m.get("role") == "user")


def structured_answer(body: dict[str, Any]) -> dict[str, Any]:
    schema = body["response_format"]["json_schema"]["schema"]
    given = directives(_user_text(body))
    answer = {}
    for name in schema.get("properties", {}):
        if name in given:
            answer[name] = given[name]
        elif name in DEFAULTS:
            answer[name] = DEFAULTS[name]
    return answer


def tool_round(body: dict[str, Any]) -> dict[str, Any]:
    results = [m for m in body.get("messages", []) if m.get("role") == "tool"]
    if results:
        return chat_completion(f"finished; the tool answered: {str(results[-1].get('content'))[:300]}")
    found = TOOL_CALL.search(_user_text(body))
    if found is None:
        return chat_completion("nothing to do")
    call = {
        "id": "call_e2e_1",
        "type": "function",
        "function": {"name": found.group(1), "arguments": found.group(2)},
    }
    answer = chat_completion("")
    answer["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
    answer["choices"][0]["finish_reason"] = "tool_calls"
    return answer


def respond(recorded: Recorded) -> tuple[int, Any]:
    body = recorded.body if isinstance(recorded.body, dict) else {}
    if recorded.method != "POST" or not recorded.path.endswith("/chat/completions"):
        return 404, {"error": {"message": "not found", "type": "invalid_request_error"}}
    pause = directives(_user_text(body)).get("e2e_sleep")
    if isinstance(pause, int | float):
        time.sleep(pause)  # a server thread of its own: only this call waits
    if body.get("tools"):
        return 200, tool_round(body)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return 200, chat_completion(json.dumps(structured_answer(body)))
    return 200, chat_completion("ok")


@contextmanager
def llm_double() -> Iterator[HttpDouble]:
    """The double; its OpenAI base URL is `<url>/v1`."""
    with http_double(respond) as double:
        yield double


def user_texts(double: HttpDouble) -> list[str]:
    return [_user_text(r.body) for r in list(double.requests) if isinstance(r.body, dict)]
