"""Complexity scoring (the monolith's signals) and token counting."""

from __future__ import annotations

import pytest

from flowbus_llm_gateway.complexity import Complexity, complexity_for, score_query, signals
from flowbus_llm_gateway.model import ChatMessage
from flowbus_llm_gateway.tokens import count_tokens, encoding_name, estimate_request_tokens, get_encoding


def _cl100k(text: str) -> int:
    return len(get_encoding("cl100k_base").encode(text))


# --- examples from the monolith -------------------------------------------------------------


def test_hello_is_simple() -> None:
    assert score_query("hello") == (-2, Complexity.SIMPLE)


def test_explain_in_detail_is_moderate() -> None:
    assert score_query("explain photosynthesis in detail") == (1, Complexity.MODERATE)


def test_code_fence_with_debug_is_advanced() -> None:
    score, level = score_query("```python\nx = 1 / 0\n```\nplease debug this")
    assert score == 6  # fence +3, code words +3
    assert level is Complexity.ADVANCED


def test_code_fence_alone_is_complex() -> None:
    assert score_query("```\nx = 1\n```") == (3, Complexity.COMPLEX)


def test_security_audit_is_advanced() -> None:
    assert score_query("security audit of our distributed OAuth architecture") == (5, Complexity.ADVANCED)


# --- each signal ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "points"),
    [
        ("thanks", "simple", -2),
        ("what is a noun", "simple", -2),
        ("compare these", "moderate", 1),
        ("calculate the sum", "technical", 3),
        ("matrix", "technical", 3),
        ("write a function", "code", 3),
        ("SQL", "code", 3),
        ("jwt", "advanced", 5),
        ("a SECURITY   AUDIT please", "advanced", 5),
    ],
)
def test_word_class(text: str, name: str, points: int) -> None:
    assert signals(text) == {name: points}


def test_word_classes_count_once() -> None:
    assert signals("code function class debug api sql docker json") == {"code": 3}


def test_classes_add_up() -> None:
    # simple -2, moderate +1, technical +3, code +3, advanced +5
    score, level = score_query("quick: explain the math of this api for scaling")
    assert score == 10
    assert level is Complexity.ADVANCED


@pytest.mark.parametrize(
    "text",
    ["a classic novel", "the apiary", "a codex", "jsonify", "listing", "definitely", "performances"],
)
def test_whole_words_only(text: str) -> None:
    assert signals(text) == {}


def test_punctuation_is_a_boundary() -> None:
    assert signals("(debug)") == {"code": 3}
    assert signals("Hello!") == {"simple": -2}


def _text_of_tokens(n: int) -> str:
    text = "cat " * n
    assert _cl100k(text) >= n
    return text


@pytest.mark.parametrize(("tokens", "points"), [(99, None), (100, 1), (500, 2), (2000, 3)])
def test_length_thresholds_use_real_tokens(tokens: int, points: int | None) -> None:
    text = " ".join(["cat"] * tokens)  # " cat" is one token: exactly `tokens` tokens
    assert _cl100k(text) == tokens
    assert signals(text).get("length") == points


def test_length_is_not_chars_over_4() -> None:
    # 450 chars is >= 100 by chars/4, but only 90 real tokens: no length points.
    text = " ".join(["information"] * 90)
    assert len(text) / 4 >= 100
    assert _cl100k(text) < 100
    assert "length" not in signals(text)


@pytest.mark.parametrize(
    ("task_type", "points"),
    [("code", 2), ("analysis", 2), ("reasoning", 2), ("chat", -1), ("general", -1), ("Code", 2)],
)
def test_task_type(task_type: str, points: int) -> None:
    assert signals("the weather", task_type) == {"task_type": points}


def test_unknown_task_type_adds_nothing() -> None:
    assert signals("the weather", "poetry") == {}
    assert score_query("the weather", None) == (0, Complexity.SIMPLE)


def test_task_type_changes_class() -> None:
    assert score_query("compare these")[1] is Complexity.MODERATE
    assert score_query("compare these", "analysis")[1] is Complexity.COMPLEX
    assert score_query("compare these", "chat")[1] is Complexity.SIMPLE


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (-3, Complexity.SIMPLE),
        (0, Complexity.SIMPLE),
        (1, Complexity.MODERATE),
        (2, Complexity.COMPLEX),
        (4, Complexity.COMPLEX),
        (5, Complexity.ADVANCED),
        (20, Complexity.ADVANCED),
    ],
)
def test_thresholds(score: int, level: Complexity) -> None:
    assert complexity_for(score) is level


# --- tokens -------------------------------------------------------------------------------------


def test_known_counts() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("Hello, world!", "gpt-4o") == 4
    assert count_tokens("") == 0
    o200k = get_encoding("o200k_base")
    text = "Tokenization differs between encodings: naïve café, 東京, emojis 🎉."
    assert count_tokens(text, "gpt-4o") == len(o200k.encode(text))
    assert count_tokens(text, "gpt-4") == _cl100k(text)
    assert count_tokens(text, "gpt-4o") != count_tokens(text, "gpt-4")


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("claude-sonnet-4-5", "cl100k_base"),
        ("gemini-2.5-pro", "cl100k_base"),
        ("omni-model", "cl100k_base"),
        (None, "cl100k_base"),
    ],
)
def test_encoding_selection(model: str | None, encoding: str) -> None:
    assert encoding_name(model) == encoding


def test_special_tokens_are_plain_text() -> None:
    assert count_tokens("<|endoftext|>") > 1


def test_estimate_request_tokens() -> None:
    messages = [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="Hi")]
    expected = 3 + sum(3 + _cl100k(m.role) + _cl100k(m.content) for m in messages)
    assert estimate_request_tokens(messages) == expected
    assert estimate_request_tokens([{"role": "user", "content": "Hi"}]) == 3 + 3 + 1 + 1
    assert estimate_request_tokens([]) == 3


def test_estimate_counts_names() -> None:
    plain = estimate_request_tokens([{"role": "user", "content": "Hi"}])
    named = estimate_request_tokens([{"role": "user", "content": "Hi", "name": "bob"}])
    assert named == plain + 1 + _cl100k("bob")
