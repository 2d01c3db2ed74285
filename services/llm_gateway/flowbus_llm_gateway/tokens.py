"""Token counting with the offline `bpe_openai` tokenizer.

OpenAI models are counted exactly with their own encoding: `o200k_base` for the
gpt-4o, gpt-4.1, gpt-5 and o-series (o1, o3, o4...) families, `cl100k_base` for
everything else. For non-OpenAI models (Claude, Gemini, DeepSeek...) the
`cl100k_base` count is only an *estimate*: those providers use their own
tokenizers, so the real count (and bill) may differ by some percent. Use it for
routing and budgeting, never for billing; bills come from the provider's usage.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

with warnings.catch_warnings():  # bpe_openai loads its data with a deprecated importlib API
    warnings.simplefilter("ignore", DeprecationWarning)
    import bpe_openai  # type: ignore[import-untyped]

from flowbus_llm_gateway.model import ChatMessage

CL100K = "cl100k_base"
O200K = "o200k_base"

# Per-message overhead of OpenAI's chat format (<|start|>role ... <|end|>) and the reply primer.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMER = 3

_O200K_MODEL = re.compile(r"^(?:gpt-4o|gpt-4\.1|gpt-5|chatgpt-4o|o\d)(?:$|[-.:])")


def encoding_name(model: str | None) -> str:
    """The encoding for `model`: o200k for gpt-4o / gpt-4.1 / gpt-5 / o-series names, else cl100k."""
    if not model:
        return CL100K
    name = model.rsplit("/", 1)[-1].lower()  # accept "openai/gpt-4o"
    return O200K if _O200K_MODEL.match(name) else CL100K


@lru_cache(maxsize=4)
def get_encoding(name: str) -> Any:
    """The `bpe_openai` encoding `name` ("cl100k_base", "o200k_base"), loaded once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return bpe_openai.get_encoding(name)


def count_tokens(text: str, model: str | None = None) -> int:
    """Tokens in `text` for `model`; exact for OpenAI models, an estimate for others (see module doc).

    Special-token markers such as "<|endoftext|>" in user text are counted as plain text.
    """
    if not text:
        return 0
    return len(get_encoding(encoding_name(model)).encode(text, disallowed_special=()))


def _field(message: ChatMessage | Mapping[str, Any], name: str) -> Any:
    if isinstance(message, ChatMessage):
        return getattr(message, name, None)
    return message.get(name)


def estimate_request_tokens(
    messages: Iterable[ChatMessage | Mapping[str, Any]], model: str | None = None
) -> int:
    """Prompt tokens of a chat request: content, role and name of each message plus OpenAI's overhead
    (3 per message, 1 per name, 3 for the reply primer). Tool calls count their name and arguments."""
    total = REPLY_PRIMER
    for message in messages:
        total += TOKENS_PER_MESSAGE
        total += count_tokens(str(_field(message, "role") or ""), model)
        content = _field(message, "content")
        if isinstance(content, str):
            total += count_tokens(content, model)
        elif isinstance(content, list):  # OpenAI-style content parts
            for part in content:
                if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    total += count_tokens(part["text"], model)
        name = _field(message, "name")
        if name:
            total += TOKENS_PER_NAME + count_tokens(str(name), model)
        for call in _field(message, "tool_calls") or []:
            call_name = call.name if hasattr(call, "name") else call.get("name", "")
            args = call.arguments if hasattr(call, "arguments") else call.get("arguments", "")
            total += count_tokens(str(call_name), model) + count_tokens(str(args), model)
    return total
