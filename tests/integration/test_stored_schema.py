"""One stored schema (server/models.py): every document the session's servers stored, through every RPC the
integration suite called before this test, is what its MongoEngine document declares (no undeclared field,
types and choices right, required fields present). It runs last, beside the query-plan check."""

from __future__ import annotations

import pymongo
import pytest

from server.models import Drift, Experiment, StoredShapeError, User, conform


@pytest.mark.timeout(300)
def test_every_stored_document_is_what_the_models_declare(server, db: pymongo.database.Database):
    wrong, seen = [], 0
    for document in (User, Experiment, Drift):
        for stored in db[document._get_collection_name()].find():
            seen += 1
            try:
                conform(document, stored)
            except StoredShapeError as error:
                wrong.append(f"{document.__name__} {stored['_id']}: {error}")
    assert seen, "the session stored nothing: the check would pass vacuously"
    assert not wrong, "\n".join(wrong[:20])


def test_a_write_in_an_undeclared_shape_is_refused():
    """What the write paths call before storing: an unknown field, a wrong type, an unknown status."""
    with pytest.raises(StoredShapeError, match="bogus"):
        conform(Experiment, {"name": "x", "owner": "u", "bogus": 1}, partial=True)
    with pytest.raises(StoredShapeError, match="StringField"):
        conform(Drift, {"model": 5}, partial=True)
    with pytest.raises(StoredShapeError, match="one of"):
        conform(Drift, {"status": "DONE"}, partial=True)
    with pytest.raises(StoredShapeError, match="required"):
        conform(User, {"_id": "u", "issuer": "i"})
