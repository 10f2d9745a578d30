"""atheris target: the page/resume token decoder.

    python tests/security/fuzz/fuzz_pagetoken.py CORPUS_DIR -runs=2000

Properties: any text either decodes or raises PageTokenError (nothing else), and nothing but a token
this secret signed decodes: a mutated token that is still accepted must carry the payload it was
signed with (base64's ignored trailing bits may differ; the content may not).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

with atheris.instrument_imports():
    from server.pagetokens import PageTokenError, decode_page_token, encode_page_token

SECRET = b"fuzzing-secret-fuzzing-secret-00"
EXPECT = {"scope": "drifts:0123456789abcdef01234567", "query": "5f3c"}
PAYLOADS = [
    {**EXPECT, "after": {"create_time": datetime(2026, 11, 27, 3, 0, 1, 123000, tzinfo=UTC), "_id": "0123456789abcdef01234567"}},
    {**EXPECT, "after": {"model": "xgb", "_id": "aaaaaaaaaaaaaaaaaaaaaaaa"}, "desc": True},
    {"seq": 42},
]
SEEDS = [encode_page_token(SECRET, payload) for payload in PAYLOADS]


def test_one_input(data: bytes) -> None:
    token = data.decode("latin-1")
    for expect in (EXPECT, {}):
        try:
            payload = decode_page_token(SECRET, token, expect=expect)
        except PageTokenError:
            continue
        assert payload in PAYLOADS, f"a token this secret never signed was accepted: {token!r} -> {payload!r}"


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
