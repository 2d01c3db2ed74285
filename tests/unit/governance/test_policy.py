"""The action policy: loading and validating it, and classifying actions without substring guesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowbus_governance.domain.policy import (
    DEFAULT_POLICY_PATH,
    Policy,
    PolicyError,
    classify,
    default_policy,
    load_policy,
)

MONOLITH_TABLE = {
    1: ["search", "read", "list", "get", "fetch", "summarize", "present_chart", "present_markdown"],
    2: [
        "analyze",
        "suggest",
        "draft",
        "generate",
        "recommend",
        "stream_chat",
        "present_form",
        "llm_stream",
        "browser_navigate",
        "browser_screenshot",
        "browser_extract",
        "device_camera_snap",
        "device_get_location",
        "device_send_notification",
        "update_canvas",
    ],
    3: ["create", "update", "send_email", "post_message", "schedule", "submit_form"],
    4: ["delete", "execute", "deploy", "payment", "transfer", "approve_payment", "delete_record"],
}

SMALL = """
version: "t1"
actions:
  search: 1
  thread_archive: 3
patterns:
  - {pattern: "*_read", complexity: 1}
  - {pattern: "*_delete", complexity: 4}
  - {pattern: "delete_*", complexity: 4}
  - {pattern: "*_update", complexity: 3}
  - {pattern: "crm.*.read", complexity: 1}
  - {pattern: "crm.*", complexity: 2}
"""


@pytest.fixture(scope="module")
def policy() -> Policy:
    return default_policy()


@pytest.fixture(scope="module")
def small() -> Policy:
    return load_policy(SMALL)


def policy_text(actions: str = "  search: 1", patterns: str = "[]") -> str:
    return f'version: "t1"\nactions:\n{actions}\npatterns: {patterns}\n'


# --- loading -----------------------------------------------------------------------------------------


def test_the_default_policy_loads_next_to_the_package(policy: Policy) -> None:
    assert DEFAULT_POLICY_PATH.name == "policy.yaml"
    assert DEFAULT_POLICY_PATH.parent.name == "flowbus_governance"
    assert policy.version == "2026-11-24.1"
    assert load_policy(DEFAULT_POLICY_PATH) == policy


@pytest.mark.parametrize("complexity", [1, 2, 3, 4])
def test_the_default_policy_covers_the_monolith_table_verbatim(policy: Policy, complexity: int) -> None:
    for action in MONOLITH_TABLE[complexity]:
        assert policy.actions[action] == complexity, action


@pytest.mark.parametrize(
    ("action", "complexity"),
    [
        ("email_send", 3),
        ("slack_notification", 3),
        ("api_call", 3),
        ("hubspot_integration", 3),
        ("salesforce_integration", 3),
        ("notion_integration", 3),
        ("gmail_integration", 3),
        ("gmail_fetch", 1),
        ("gmail_search", 1),
        ("notion_search", 1),
        ("data_transformation", 1),
        ("llm_completion", 2),
        ("nlu_analysis", 2),
    ],
)
def test_the_default_policy_names_flowbus_step_types(policy: Policy, action: str, complexity: int) -> None:
    assert policy.actions[action] == complexity


def test_a_path_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(SMALL, encoding="utf-8")
    assert load_policy(path).version == "t1"


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "missing.yaml")


def test_a_str_is_yaml_text_not_a_path(tmp_path: Path) -> None:
    # A path passed as str is parsed as YAML: a scalar, not a mapping.
    with pytest.raises(PolicyError, match="must be a mapping"):
        load_policy(str(tmp_path / "p.yaml"))


def test_malformed_yaml_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="malformed policy YAML"):
        load_policy('version: "t1"\nactions: {search: 1\n')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (policy_text("  search: 5"), r"actions\.search: Input should be less than or equal to 4"),
        (policy_text("  search: 0"), r"actions\.search: Input should be greater than or equal to 1"),
        (policy_text("  search: high"), r"actions\.search: Input should be a valid integer"),
        (policy_text("  search: true"), r"actions\.search: Input should be a valid integer"),
        (policy_text("  search: 1.0"), r"actions\.search: Input should be a valid integer"),
        (policy_text("  Search: 1"), r"action 'Search': names must match"),
        (policy_text("  send email: 3"), r"action 'send email': names must match"),
        (policy_text("  _hidden: 1"), r"action '_hidden': names must match"),
        ('version: ""\nactions: {}\n', r"version: String should have at least 1 character"),
        ('version: "  "\nactions: {}\n', r"version must not be blank"),
        ("version: 2026-11-24\nactions: {}\n", r"version: Input should be a valid string"),
        ("actions: {search: 1}\n", r"version: Field required"),
        ('version: "t1"\nactions: [search]\n', r"actions: Input should be a valid dictionary"),
        ('version: "t1"\nactions: {}\nextra: 1\n', r"extra: Extra inputs are not permitted"),
        ("- search\n", r"a policy must be a mapping, got list"),
        ("", r"a policy must be a mapping, got NoneType"),
    ],
)
def test_wrong_shapes_are_rejected_with_the_entry_named(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(text)


def test_duplicate_action_names_are_rejected_not_silently_overwritten() -> None:
    with pytest.raises(PolicyError, match=r"duplicate key 'search' \(line 4\)"):
        load_policy(policy_text("  search: 4\n  search: 1"))


def test_duplicate_top_level_keys_are_rejected() -> None:
    with pytest.raises(PolicyError, match="duplicate key 'version'"):
        load_policy('version: "a"\nversion: "b"\nactions: {}\n')


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("*", "matches every action: a catch-all would defeat fail-closed"),
        ("**", "matches every action"),
        ("?*", "matches every action"),
        ("[a-z]*_read", r"character classes \('\[\.\.\.\]'\) are not allowed"),
        ("*_Read", "may only use lowercase letters"),
        ("*_read ", "may only use lowercase letters"),
        ("thread_read", "has no wildcard"),
    ],
)
def test_bad_patterns_are_rejected_with_a_reason(pattern: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(policy_text(patterns=f'[{{pattern: "{pattern}", complexity: 1}}]'))


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('{pattern: "*_read", complexity: 5}', r"patterns\.0\.complexity: Input should be less than"),
        ('{pattern: "*_read"}', r"patterns\.0\.complexity: Field required"),
        ('{pattern: "*_read", complexity: 1, note: x}', r"patterns\.0\.note: Extra inputs"),
        ('{pattern: "*_read", complexity: 1}, {pattern: "*_read", complexity: 4}', "declared twice"),
    ],
)
def test_bad_pattern_rules_are_rejected(rule: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(policy_text(patterns=f"[{rule}]"))


def test_policy_is_frozen(small: Policy) -> None:
    with pytest.raises(ValueError, match="frozen"):
        small.version = "t2"  # type: ignore[misc]


# --- classification ----------------------------------------------------------------------------------


def test_exact_name_beats_patterns(small: Policy) -> None:
    # thread_archive is not matched by any pattern; "search" is exact.
    assert classify(small, "search") == 1
    assert classify(small, "thread_archive") == 3
    exact_low = load_policy(policy_text("  thread_delete: 2", '[{pattern: "*_delete", complexity: 4}]'))
    assert classify(exact_low, "thread_delete") == 2


def test_overlapping_patterns_take_the_highest(small: Policy) -> None:
    assert classify(small, "delete_thread_read") == 4  # "delete_*" 4 and "*_read" 1
    assert classify(small, "crm.contacts.read") == 2  # "crm.*" 2 and "crm.*.read" 1
    assert classify(small, "crm.contacts_delete") == 4


def test_patterns_match_the_whole_name(small: Policy) -> None:
    assert classify(small, "thread_read_more") is None
    assert classify(small, "x_update") == 3


def test_unknown_actions_are_none(small: Policy) -> None:
    assert classify(small, "launch_rockets") is None


@pytest.mark.parametrize(
    "action", ["", " ", "\t", "search ", " search", "search\n", "SEARCH", "Thread_Delete"]
)
def test_empty_blank_and_non_lowercase_actions_are_not_guessed(small: Policy, action: str) -> None:
    assert classify(small, action) is None


def test_the_monolith_misclassification_thread_delete_is_4_not_a_read(policy: Policy) -> None:
    assert classify(policy, "thread_delete") == 4


def test_read_and_delete_is_4_because_star_delete_declares_it(policy: Policy) -> None:
    assert classify(policy, "read_and_delete") == 4


def test_deleted_items_read_is_1_via_star_read_because_no_stricter_pattern_matches(policy: Policy) -> None:
    # "delete_*" needs "delete_" as the prefix and "*_delete_*" needs "_delete_": neither matches.
    assert classify(policy, "deleted_items_read") == 1


def test_delete_in_the_middle_of_a_read_name_is_4_via_the_infix_pattern(policy: Policy) -> None:
    assert classify(policy, "bulk_delete_records_list") == 4
    assert classify(policy, "thread_delete_read") == 4


def test_undelete_everything_search_is_decided_by_the_search_pattern_alone(policy: Policy) -> None:
    # No pattern mentions "undelete"; "delete" inside a word is not a guess anyone makes.
    assert classify(policy, "undelete_everything_search") == 1


def test_readme_is_unknown_even_though_it_starts_with_read(policy: Policy) -> None:
    assert classify(policy, "readme") is None
    assert classify(policy, "spreadsheet") is None
    assert classify(policy, "payments_overview") is None


def test_a_read_verb_prefix_is_not_a_read_get_and_send_all_is_unknown(policy: Policy) -> None:
    # Lenient levels are declared by suffix only, so a name starting with a read verb falls through.
    assert classify(policy, "get_and_send_all") is None
    assert classify(policy, "send_all") == 3


@pytest.mark.parametrize(
    ("action", "complexity"),
    [
        ("contacts_search", 1),
        ("invoice_list", 1),
        ("report_summarize", 1),
        ("sentiment_analysis", 2),
        ("reply_draft", 2),
        ("contact_create", 3),
        ("create_invoice", 3),
        ("deal_update", 3),
        ("stripe_integration", 3),
        ("invoice_payment", 4),
        ("code_execute", 4),
        ("funds_transfer", 4),
        ("purge_cache", 4),
    ],
)
def test_default_patterns(policy: Policy, action: str, complexity: int) -> None:
    assert classify(policy, action) == complexity
