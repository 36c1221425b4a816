"""Scoring a tool's answer against what a case expects: pure functions, no I/O.

The answer of ``tools/call`` is read two ways: its *text* (the text items of ``content`` joined by newlines) and its
*value* (``structuredContent`` when the server sends it, else the text parsed as JSON, else the text itself).

- ``exact``: text expected → the text equals it; any other JSON expected → the value equals it. Score 1 or 0.
- ``contains``: the text contains the expected text (case-sensitive). Score 1 or 0.
- ``json_subset``: every key and item of the expected object or array is in the value (arrays: each expected item
  matches some item, in any order). The score is the share of expected leaves found, so a near miss ranks above a
  wild one; it passes at 1.
- ``similarity``: the Jaro-Winkler similarity of the texts (``rapidfuzz``), 0..1; it passes at the case's threshold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import JaroWinkler

from mcphost.models import MatchMode

DEFAULT_THRESHOLD = 0.8
_MISSING = object()


@dataclass(frozen=True)
class Output:
    """A ``tools/call`` result as evaluations read it."""

    text: str
    value: Any

    @classmethod
    def of(cls, result: dict[str, Any] | None) -> Output:
        result = result or {}
        parts = [
            str(item.get("text", ""))
            for item in result.get("content") or []
            if isinstance(item, dict) and item.get("type") == "text"
        ]
        text = "\n".join(parts)
        if "structuredContent" in result and result["structuredContent"] is not None:
            return cls(text, result["structuredContent"])
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        return cls(text, value)


@dataclass(frozen=True)
class Score:
    passed: bool
    score: float


def score(mode: MatchMode, expected: Any, output: Output, threshold: float | None = None) -> Score:
    """How well ``output`` matches ``expected`` under ``mode``."""
    if mode is MatchMode.EXACT:
        same = output.text == expected if isinstance(expected, str) else _same(expected, output.value)
        return Score(same, 1.0 if same else 0.0)
    if mode is MatchMode.CONTAINS:
        found = as_text(expected) in output.text
        return Score(found, 1.0 if found else 0.0)
    if mode is MatchMode.JSON_SUBSET:
        matched, total = _subset(expected, output.value)
        share = matched / total if total else 1.0
        return Score(matched == total, round(share, 6))
    similarity = JaroWinkler.similarity(as_text(expected), output.text)
    needed = DEFAULT_THRESHOLD if threshold is None else threshold
    return Score(similarity >= needed, round(float(similarity), 6))


def as_text(value: Any) -> str:
    """Text as is; any other JSON value as compact JSON with sorted keys."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def _same(expected: Any, actual: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` and ``1`` equals ``1.0``, as JSON means them."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(_same(value, actual[key]) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(_same(a, b) for a, b in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def _leaves(value: Any) -> int:
    if isinstance(value, dict) and value:
        return sum(_leaves(item) for item in value.values())
    if isinstance(value, list) and value:
        return sum(_leaves(item) for item in value)
    return 1


def _subset(expected: Any, actual: Any) -> tuple[int, int]:
    """(leaves of ``expected`` found in ``actual``, leaves of ``expected``)."""
    if isinstance(expected, dict) and expected:
        matched = total = 0
        for key, value in expected.items():
            found = actual.get(key, _MISSING) if isinstance(actual, dict) else _MISSING
            if found is _MISSING:
                total += _leaves(value)
                continue
            m, t = _subset(value, found)
            matched, total = matched + m, total + t
        return matched, total
    if isinstance(expected, list) and expected:
        if not isinstance(actual, list):
            return 0, _leaves(expected)
        matched = total = 0
        for item in expected:
            options = [_subset(item, candidate) for candidate in actual]
            best = max(options, default=(0, _leaves(item)), key=lambda pair: pair[0])
            matched, total = matched + best[0], total + _leaves(item)
        return matched, total
    if isinstance(expected, dict):  # {} is in any object
        return (1, 1) if isinstance(actual, dict) else (0, 1)
    if isinstance(expected, list):  # [] is in any array
        return (1, 1) if isinstance(actual, list) else (0, 1)
    return (1, 1) if _same(expected, actual) else (0, 1)
