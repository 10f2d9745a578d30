"""Indexes are declared, not hoped for: every index server/models.py declares exists on the database
once the server has started (ensure_indexes), with the same keys and uniqueness."""

from __future__ import annotations

import pymongo

from server.models import ALL_DOCUMENTS


def declared() -> list[tuple[str, tuple[tuple[str, int], ...], bool]]:
    return [
        (document._get_collection_name(), tuple(spec["fields"]), bool(spec.get("unique")))
        for document in ALL_DOCUMENTS
        for spec in document._meta["index_specs"]
    ]


def test_every_declared_index_exists_after_start_up(server, db: pymongo.database.Database):
    missing = []
    for collection, keys, unique in declared():
        found = {tuple(tuple(key) for key in info["key"]): bool(info.get("unique")) for info in db[collection].index_information().values()}
        if found.get(keys) is not unique:
            missing.append((collection, keys, "unique" if unique else "plain", found.get(keys)))
    assert not missing, f"declared in server/models.py but not on the database: {missing}"


def test_the_replay_check_has_its_index_declared():
    """drifts._replayed looks its CREATED event up by drift_id: the events collection must index it."""
    assert ("events", (("drift_id", 1),), False) in declared()
