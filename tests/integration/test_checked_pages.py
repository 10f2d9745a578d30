"""Pages whose filter is partly checked by the server (per-feature conditions, element_match.py), on the real
database: read in chunks, never more than MAX_EXAMINED documents per page, no gap and no repeat across pages."""

from __future__ import annotations

import pytest
from bson import ObjectId

from server import listing
from server.listing import Ordering, page_request

SECRET = b"s" * 32


@pytest.fixture
def numbered(db):
    collection = db[f"checked_pages_{ObjectId()}"]
    collection.insert_many([{"n": n} for n in range(60)])
    yield collection
    collection.drop()


@pytest.mark.parametrize("descending", [False, True])
def test_checked_pages_go_through_everything_once(numbered, monkeypatch, descending):
    monkeypatch.setattr(listing, "CHECK_CHUNK", 4)
    monkeypatch.setattr(listing, "MAX_EXAMINED", 12)
    keep = lambda doc: doc["n"] % 7 == 0  # noqa: E731
    seen, sizes, token = [], [], ""
    for _ in range(50):
        request = page_request(
            numbered, {}, ordering=Ordering("n", descending), size=3, token=token, secret=SECRET, scope="t", filter_text="f", to_id=ObjectId
        )
        request = listing.PageRequest(**{**request.__dict__, "keep": keep})
        docs, token = request.fetch()
        seen += [d["n"] for d in docs]
        sizes.append(len(docs))
        if not token:
            break
    expected = [n for n in range(60) if n % 7 == 0]
    assert seen == (expected[::-1] if descending else expected)
    assert all(size <= 3 for size in sizes)
    assert 0 in sizes or min(sizes) < 3  # a page cut short by MAX_EXAMINED still carries a token


def test_a_full_page_stops_reading_early(numbered, monkeypatch):
    reads = []
    real = listing.PageRequest._read
    monkeypatch.setattr(listing.PageRequest, "_read", lambda self, after, want: reads.append(want) or real(self, after, want))
    request = page_request(numbered, {}, ordering=Ordering("n", False), size=2, token="", secret=SECRET, scope="t", filter_text="f", to_id=ObjectId)
    docs, token = listing.PageRequest(**{**request.__dict__, "keep": lambda doc: True}).fetch()
    assert [d["n"] for d in docs] == [0, 1] and token
    assert len(reads) == 1
