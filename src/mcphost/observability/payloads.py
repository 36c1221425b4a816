"""What of a request's params or an answer's result is kept in an invocation record: secrets redacted (the values
of secret-looking keys, and known secret values wherever they appear), text that no database can store cleaned,
and at most a budget of characters (longer payloads keep a preview).

The walk is bounded in depth and in work: once the budget is spent it stops, so a multi-megabyte result costs
no more to record than one a little over the budget."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

# A key names a secret when one of its words does (``client_secret``, ``accessToken``, ``X-Api-Key``), but not
# when a word merely contains one (``maxTokens`` is a number of tokens, not a token).
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "apikey",
        "passphrase",
        "bearer",
    }
)
SECRET_PAIRS = frozenset({("api", "key"), ("private", "key"), ("secret", "key"), ("access", "key")})


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    words = [word.lower() for word in _WORDS.findall(name)]
    return any(word in SECRET_WORDS for word in words) or any(
        pair in SECRET_PAIRS for pair in itertools.pairwise(words)
    )


REDACTED = "[redacted]"
TOO_DEEP = "[too deep]"
MAX_DEPTH = 32
_INT64 = 2**63


def clean_text(value: str, limit: int | None = None) -> str:
    """Without NUL (PostgreSQL text and JSON cannot hold it), at most ``limit`` characters."""
    if limit is not None:
        value = value[:limit]
    return value.replace("\x00", "") if "\x00" in value else value


@dataclass(frozen=True, slots=True)
class KnownSecrets:
    """Secret values to redact wherever they appear: one pattern matching any of them."""

    pattern: re.Pattern[str]
    longest: int

    @classmethod
    def of(cls, values: Iterable[str], min_chars: int) -> KnownSecrets | None:
        """The values of at least ``min_chars`` characters (shorter ones would redact everyday text); None when
        none is left. Longest first, so a secret that contains another is redacted whole."""
        kept = sorted({value for value in values if len(value) >= min_chars}, key=len, reverse=True)
        if not kept:
            return None
        return cls(re.compile("|".join(map(re.escape, kept))), len(kept[0]))

    def redact(self, text: str) -> str:
        return self.pattern.sub(REDACTED, text)


class _Walk:
    """One pass over a payload. ``spent`` is a lower bound of the length of the JSON text written so far (each
    character counted where it appears: a closing bracket when its container ends), so once it exceeds the
    budget the first ``budget`` characters of the JSON of what was kept are the payload's own. With ``secrets``,
    known secret values are replaced in every string (keys included)."""

    __slots__ = ("budget", "exhausted", "secrets", "spent")

    def __init__(self, budget: int, secrets: KnownSecrets | None = None) -> None:
        self.budget = budget
        self.spent = 0
        self.exhausted = False
        self.secrets = secrets

    def take(self, chars: int) -> None:
        self.spent += chars
        if self.spent > self.budget:
            self.exhausted = True

    def value(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, bool):
            self.take(4)
            return value
        if isinstance(value, str):
            limit = max(0, self.budget - self.spent) + 1
            if self.secrets is not None:  # searched past the cut too, so a secret the cut would halve goes whole
                value = self.secrets.redact(value[: limit + self.secrets.longest])
            kept = clean_text(value, limit)
            self.take(len(kept) + 2)
            return kept
        if isinstance(value, int):
            self.take(1)
            return value if -_INT64 <= value < _INT64 else str(value)  # orjson refuses wider integers
        if isinstance(value, float):
            self.take(1)
            return value if math.isfinite(value) else None  # NaN and infinities are not JSON
        if depth >= MAX_DEPTH:
            self.take(len(TOO_DEEP) + 2)
            return TOO_DEEP
        if isinstance(value, dict):
            return self.mapping(value, depth + 1)
        if isinstance(value, (list, tuple)):
            return self.sequence(value, depth + 1)
        return self.value(str(value), depth)

    def mapping(self, value: dict[Any, Any], depth: int) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        self.take(1)
        for key, item in value.items():
            if self.exhausted:
                break
            name = clean_text(self.secrets.redact(str(key)) if self.secrets is not None else str(key))
            self.take(len(name) + 3 + bool(kept))  # "name": and the comma before all but the first
            if is_secret_name(name):
                self.take(len(REDACTED) + 2)
                kept[name] = REDACTED
            else:
                kept[name] = self.value(item, depth)
        self.take(1)
        return kept

    def sequence(self, value: list[Any] | tuple[Any, ...], depth: int) -> list[Any]:
        kept: list[Any] = []
        self.take(1)
        for item in value:
            if self.exhausted:
                break
            if kept:
                self.take(1)  # the comma
            kept.append(self.value(item, depth))
        self.take(1)
        return kept


def redact(value: Any) -> Any:
    """The payload with the values of secret-looking keys replaced, at any depth up to ``MAX_DEPTH``."""
    return _Walk(budget=_INT64).value(value, 0)


def capped(value: Any, max_chars: int, secrets: KnownSecrets | None = None) -> Any:
    """The redacted payload if its JSON has at most ``max_chars`` characters, else
    ``{"_truncated": true, "preview": <its first max_chars characters of JSON>}``. None stays None. ``secrets``
    are redacted wherever they appear."""
    if value is None:
        return None
    walk = _Walk(budget=max_chars, secrets=secrets)
    kept = walk.value(value, 0)
    if walk.exhausted:
        # What was kept is longer than the budget, so the preview holds nothing but the payload's own text.
        return {"_truncated": True, "preview": orjson.dumps(kept).decode()[:max_chars]}
    text = orjson.dumps(kept).decode()
    if len(text) > max_chars:
        return {"_truncated": True, "preview": text[:max_chars]}
    return kept
