"""Page tokens round-trip, and refuse forgery, tampering and reuse on another request."""

import base64
from datetime import UTC, datetime

import pytest

from server.pagetokens import PageTokenError, decode_page_token, encode_page_token

SECRET = b"k" * 32


def test_round_trip_with_datetimes():
    payload = {"b": "scope", "v": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC), "id": "abc", "n": 3, "x": None}
    assert decode_page_token(SECRET, encode_page_token(SECRET, payload), expect={"b": "scope"}) == payload


def test_binding_must_match():
    token = encode_page_token(SECRET, {"b": "one"})
    with pytest.raises(PageTokenError, match="does not match"):
        decode_page_token(SECRET, token, expect={"b": "two"})


def test_other_secret_is_refused():
    with pytest.raises(PageTokenError):
        decode_page_token(b"other", encode_page_token(SECRET, {"b": 1}), expect={})


@pytest.mark.parametrize("position", [0, 5, -1])
def test_any_flipped_bit_is_refused(position):
    raw = bytearray(base64.urlsafe_b64decode(encode_page_token(SECRET, {"b": "s", "v": 1}) + "=="))
    raw[position] ^= 0x01
    with pytest.raises(PageTokenError):
        decode_page_token(SECRET, base64.urlsafe_b64encode(bytes(raw)).decode(), expect={})


@pytest.mark.parametrize("token", ["", "x", "!!!!", "a" * 5000, base64.urlsafe_b64encode(b"{}").decode()])
def test_garbage_is_refused(token):
    with pytest.raises(PageTokenError):
        decode_page_token(SECRET, token, expect={})
