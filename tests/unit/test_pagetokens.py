"""Page tokens round-trip, and refuse forgery, tampering, garbage and reuse on another request."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.pagetokens import MAX_TOKEN_LENGTH, PageTokenError, decode_page_token, encode_page_token

SECRET = b"k" * 32


def _forge(body: bytes, secret: bytes = SECRET) -> str:
    """A correctly signed token around arbitrary bytes: what a holder of the secret could make."""
    mac = hmac.new(secret, body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode()


def test_round_trip_with_datetimes():
    payload = {
        "b": "scope",
        "v": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        "id": "abc",
        "n": 3,
        "f": 0.5,
        "x": None,
        "ok": True,
        "list": [1, "two", datetime(2020, 5, 6, tzinfo=UTC)],
        "nested": {"when": datetime(2021, 1, 1, tzinfo=UTC), "s": "ü"},
    }
    decoded = decode_page_token(SECRET, encode_page_token(SECRET, payload), expect={"b": "scope"})
    assert decoded == payload
    assert decoded["v"].microsecond == 678901
    assert decoded["v"].tzinfo is UTC


def test_naive_and_offset_datetimes_come_back_as_aware_utc():
    naive = datetime(2024, 1, 1, 12, 0, 0, 1)  # as pymongo returns stored dates
    offset = datetime(2024, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    decoded = decode_page_token(SECRET, encode_page_token(SECRET, {"a": naive, "b": offset}), expect={})
    assert decoded["a"] == naive.replace(tzinfo=UTC) and decoded["a"].tzinfo is UTC
    assert decoded["b"] == datetime(2024, 1, 1, 12, tzinfo=UTC) and decoded["b"].tzinfo is UTC


def test_token_is_urlsafe_without_padding_and_compact():
    token = encode_page_token(SECRET, {"b": "x" * 50, "v": "?/+&="})
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert json.loads(raw[:-16]) == {"b": "x" * 50, "v": "?/+&="}
    assert b" " not in raw[:-16]


def test_encoding_is_deterministic():
    assert encode_page_token(SECRET, {"a": 1, "b": 2}) == encode_page_token(SECRET, {"b": 2, "a": 1})


def test_expect_must_match_every_item():
    token = encode_page_token(SECRET, {"b": "one", "s": 10})
    assert decode_page_token(SECRET, token, expect={"b": "one", "s": 10})["b"] == "one"
    for expect in ({"b": "two"}, {"b": "one", "s": 11}, {"missing": None}):
        with pytest.raises(PageTokenError, match="^page_token does not match this request; "):
            decode_page_token(SECRET, token, expect=expect)


def test_other_secret_is_refused():
    with pytest.raises(PageTokenError, match="altered"):
        decode_page_token(b"other", encode_page_token(SECRET, {"b": 1}), expect={})


@pytest.mark.parametrize("position", [0, 1, 5, 20, -16, -1])
def test_any_flipped_bit_is_refused(position):
    token = encode_page_token(SECRET, {"b": "s", "v": 1, "id": "abcdef"})
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[position] ^= 0x01
    with pytest.raises(PageTokenError, match="altered"):
        decode_page_token(SECRET, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode(), expect={})


def test_edited_payload_is_refused():
    token = encode_page_token(SECRET, {"b": "s", "v": 1})
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    edited = raw[:-16].replace(b'"v":1', b'"v":2') + raw[-16:]
    with pytest.raises(PageTokenError, match="altered"):
        decode_page_token(SECRET, base64.urlsafe_b64encode(edited).decode().rstrip("="), expect={})


def test_truncated_and_extended_tokens_are_refused():
    token = encode_page_token(SECRET, {"b": "s"})
    for bad in (token[:-1], token[:-4], token + "A", token + "AAAA", token[4:]):
        with pytest.raises(PageTokenError):
            decode_page_token(SECRET, bad, expect={})


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("", "altered"),
        ("x", "base64"),
        ("!!!!", "base64"),
        ("abc=", "base64"),  # padding is not part of the format
        ("ab+/", "base64"),  # standard alphabet is not accepted
        ("ab cd", "base64"),
        ("é", "base64"),
        ("a" * (MAX_TOKEN_LENGTH + 1), "longer than 4096"),
        (base64.urlsafe_b64encode(b"{}").decode().rstrip("="), "altered"),
        (base64.urlsafe_b64encode(b"A" * 40).decode().rstrip("="), "altered"),
    ],
)
def test_garbage_is_refused_with_a_clear_message(token, message):
    with pytest.raises(PageTokenError, match=message):
        decode_page_token(SECRET, token, expect={})


def test_valid_signature_on_bad_content_is_refused():
    for body in (b"not json", b"\xff\xfe", b"[1, 2]", b'"s"', b'{"v": {"$dt": "yesterday"}}', b'{"v": {"$dt": 5}}'):
        token = _forge(body)
        if body == b'{"v": {"$dt": 5}}':
            assert decode_page_token(SECRET, token, expect={}) == {"v": {"$dt": 5}}  # not a datetime tag
            continue
        with pytest.raises(PageTokenError, match="not readable"):
            decode_page_token(SECRET, token, expect={})


def test_errors_are_value_errors():
    assert issubclass(PageTokenError, ValueError)


_KEYS = st.text(max_size=8).filter(lambda key: key != "$dt")  # the one key the format reserves
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
    | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=6))
def test_any_payload_round_trips(payload):
    assert decode_page_token(SECRET, encode_page_token(SECRET, payload), expect={}) == payload


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.from_regex(r"[A-Za-z0-9_-]{0,120}", fullmatch=True))
def test_arbitrary_text_is_refused_cleanly(token):
    with pytest.raises(PageTokenError):
        decode_page_token(SECRET, token, expect={})
