"""The scores of each match mode on answers shaped as servers send them (text content, structured content)."""

from __future__ import annotations

import pytest

from mcphost.evaluations.matching import Output, score
from mcphost.models import MatchMode


def text(value: str) -> Output:
    return Output.of({"content": [{"type": "text", "text": value}], "isError": False})


def test_exact_compares_text_and_json_values_as_json_means_them() -> None:
    assert score(MatchMode.EXACT, "42", text("42")).passed
    assert not score(MatchMode.EXACT, "42", text("42 ")).passed
    assert score(MatchMode.EXACT, {"a": 1.0}, text('{"a": 1}')).passed
    assert not score(MatchMode.EXACT, {"a": True}, text('{"a": 1}')).passed
    assert not score(MatchMode.EXACT, [1, 2], text("[2, 1]")).passed


def test_json_subset_gives_partial_credit_by_leaves() -> None:
    answer = Output.of(
        {"content": [], "structuredContent": {"user": {"name": "Ada", "roles": ["admin", "dev"]}, "active": True}}
    )

    whole = score(MatchMode.JSON_SUBSET, {"user": {"roles": ["dev"]}, "active": True}, answer)
    partly = score(MatchMode.JSON_SUBSET, {"user": {"name": "Ada", "roles": ["ops"]}, "active": True}, answer)
    not_json = score(MatchMode.JSON_SUBSET, {"a": 1}, text("plain words"))

    assert whole.passed and whole.score == 1.0
    assert not partly.passed and partly.score == pytest.approx(2 / 3, abs=1e-6)
    assert not not_json.passed and not_json.score == 0.0


def test_similarity_is_jaro_winkler_against_the_threshold() -> None:
    close = score(MatchMode.SIMILARITY, "DIXON", text("DICKSONX"), 0.8)
    strict = score(MatchMode.SIMILARITY, "DIXON", text("DICKSONX"), 0.9)

    assert close.score == pytest.approx(0.8133, abs=0.001)  # the textbook Jaro-Winkler of DIXON and DICKSONX
    assert close.passed and not strict.passed
    assert score(MatchMode.SIMILARITY, "same", text("same")).score == 1.0


def test_contains_reads_every_text_item() -> None:
    answer = Output.of(
        {"content": [{"type": "text", "text": "first"}, {"type": "image"}, {"type": "text", "text": "second"}]}
    )

    assert score(MatchMode.CONTAINS, "first\nsecond", answer).passed
    assert not score(MatchMode.CONTAINS, "Second", answer).passed
