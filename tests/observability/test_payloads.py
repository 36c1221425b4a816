"""What of a payload is kept: secrets redacted at any depth, text databases refuse cleaned, length capped
with a preview that is the payload's own JSON, and bounded work whatever the payload's size."""

from __future__ import annotations

import time

import orjson

from mcphost.observability.payloads import MAX_DEPTH, REDACTED, TOO_DEEP, capped, redact


def test_secret_looking_keys_are_redacted_at_any_depth_and_in_any_case() -> None:
    payload = {
        "name": "login",
        "arguments": {
            "user": "bob",
            "Password": "hunter2",
            "nested": [{"api-key": "k1"}, {"headers": {"Authorization": "Bearer t", "X-Request": "1"}}],
            "client_secret": {"even": "a whole object"},
            "private_key": "-----BEGIN",
            "sessionCookie": "c",
            "aws_credentials": ["a", "b"],
            "passwd": 1234,
            "refresh_token": "r",
        },
    }

    assert redact(payload) == {
        "name": "login",
        "arguments": {
            "user": "bob",
            "Password": REDACTED,
            "nested": [{"api-key": REDACTED}, {"headers": {"Authorization": REDACTED, "X-Request": "1"}}],
            "client_secret": REDACTED,
            "private_key": REDACTED,
            "sessionCookie": REDACTED,
            "aws_credentials": REDACTED,
            "passwd": REDACTED,
            "refresh_token": REDACTED,
        },
    }


def test_words_that_only_contain_a_secret_word_are_kept() -> None:
    payload = {"maxTokens": 100, "max_tokens": 5, "monkey": "m", "accessToken": "a", "apiKey": "k"}

    assert redact(payload) == {
        "maxTokens": 100,
        "max_tokens": 5,
        "monkey": "m",
        "accessToken": REDACTED,
        "apiKey": REDACTED,
    }


def test_what_json_or_databases_cannot_hold_is_made_storable() -> None:
    kept = redact({"text": "a\x00b", "ke\x00y": [float("nan"), float("inf"), 2**70, -(2**70), 1.5, True, None]})

    assert kept == {"text": "ab", "key": [None, None, str(2**70), str(-(2**70)), 1.5, True, None]}
    assert orjson.loads(orjson.dumps(kept)) == kept


def test_nesting_deeper_than_the_bound_is_cut() -> None:
    deep: object = "bottom"
    for _ in range(MAX_DEPTH + 10):
        deep = [deep]

    kept = redact(deep)

    depth = 0
    while isinstance(kept, list):
        kept, depth = kept[0], depth + 1
    assert (kept, depth) == (TOO_DEEP, MAX_DEPTH)


def test_payloads_within_the_limit_are_kept_whole() -> None:
    payload = {"content": [{"type": "text", "text": "x" * 50}], "isError": False}

    assert capped(payload, len(orjson.dumps(payload))) == payload
    assert capped(None, 10) is None


def test_longer_payloads_keep_a_preview_of_their_redacted_json() -> None:
    payload = {"token": "s3cr3t-value", "text": "y" * 500, "tail": "z"}
    full = orjson.dumps(redact(payload)).decode()

    kept = capped(payload, 100)

    assert kept == {"_truncated": True, "preview": full[:100]}
    assert "s3cr3t" not in kept["preview"] and REDACTED in kept["preview"]
    assert capped(payload, 0) == {"_truncated": True, "preview": ""}
    # Exactly at the limit is not over it.
    assert capped(payload, len(full)) == redact(payload)
    assert capped(payload, len(full) - 1) == {"_truncated": True, "preview": full[:-1]}


def test_a_huge_payload_costs_no_more_than_its_preview() -> None:
    huge = {"rows": [{"id": n, "value": "v" * 20} for n in range(300_000)], "blob": "b" * 10_000_000}
    full_prefix = orjson.dumps({"rows": huge["rows"][:200]}).decode()

    started = time.perf_counter()
    kept = capped(huge, 4096)
    elapsed = time.perf_counter() - started

    assert kept["_truncated"] is True and len(kept["preview"]) == 4096
    assert full_prefix.startswith(kept["preview"])
    assert elapsed < 0.05, f"capping took {elapsed:.3f}s"
