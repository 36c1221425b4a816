"""Signed calls between replicas: a call verifies with the installation's key, and nothing about it can be changed,
replayed, delayed or forged with another key."""

from __future__ import annotations

import time

import pytest

from mcphost.security.internal_calls import (
    HEADERS,
    SIGNATURE_HEADER,
    InternalCallRefused,
    InternalCallSigner,
)
from mcphost.security.keys import KeyRing

KEY = KeyRing(b"k" * 48).internal_calls
GRANT = b'{"server_id": "1", "principal": "key:1"}'
TARGET = "/mcp/time"
BODY = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}'


def signer(key: bytes = KEY, *, skew: float = 0.0) -> InternalCallSigner:
    return InternalCallSigner(key, "node-a", max_age_seconds=30, clock=lambda: time.time() + skew)


def signed(origin: InternalCallSigner | None = None) -> dict[bytes, bytes]:
    return dict((origin or signer()).sign("relay", "POST", TARGET, GRANT, BODY))


def test_a_signed_call_verifies_and_says_who_sent_it_for_whom() -> None:
    headers = signed()

    call = signer().verify(headers, "POST", TARGET, BODY)

    assert (call.op, call.node, call.grant) == ("relay", "node-a", GRANT)
    assert set(headers) == HEADERS


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [("GET", TARGET, BODY), ("POST", "/mcp/other", BODY), ("POST", TARGET, BODY + b" "), ("POST", TARGET + "?x", BODY)],
    ids=["method", "path", "body", "query"],
)
def test_a_call_whose_request_was_changed_is_refused(method: str, target: str, body: bytes) -> None:
    with pytest.raises(InternalCallRefused, match="signature does not match"):
        signer().verify(signed(), method, target, body)


@pytest.mark.parametrize("header", sorted(HEADERS - {SIGNATURE_HEADER}))
def test_a_call_whose_signed_headers_were_changed_is_refused(header: bytes) -> None:
    headers = signed()
    headers[header] = b"X" + headers[header][1:]

    with pytest.raises(InternalCallRefused, match="signature does not match"):
        signer().verify(headers, "POST", TARGET, BODY)


def test_a_call_signed_with_another_key_is_refused() -> None:
    forged = signed(signer(KeyRing(b"another installation key!!!!!!!!!").internal_calls))

    with pytest.raises(InternalCallRefused, match="signature does not match"):
        signer().verify(forged, "POST", TARGET, BODY)


def test_a_replayed_call_is_refused() -> None:
    receiver, headers = signer(), signed()
    receiver.verify(headers, "POST", TARGET, BODY)

    with pytest.raises(InternalCallRefused, match="replayed"):
        receiver.verify(headers, "POST", TARGET, BODY)
    receiver.verify(signed(), "POST", TARGET, BODY)  # the same request signed again is another call


@pytest.mark.parametrize("skew", [-31.0, 31.0], ids=["too-old", "from-the-future"])
def test_a_call_outside_the_time_window_is_refused(skew: float) -> None:
    with pytest.raises(InternalCallRefused, match="away from this node's clock"):
        signer().verify(signed(signer(skew=skew)), "POST", TARGET, BODY)


@pytest.mark.parametrize("missing", sorted(HEADERS))
def test_a_call_missing_a_header_is_refused(missing: bytes) -> None:
    headers = signed()
    del headers[missing]

    with pytest.raises(InternalCallRefused, match="lacks"):
        signer().verify(headers, "POST", TARGET, BODY)
