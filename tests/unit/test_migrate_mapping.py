"""The original Drift Watch shapes mapped to import requests, for what FerretDB cannot store (NaN) and
the corners of times and permissions. The migration itself runs against the real stack in tests/migration."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from drift_monitoring.migrate import Unmappable, map_drift, map_permissions, parse_time
from drift_monitoring.v1 import experiment_pb2


def test_naive_times_are_read_in_the_given_zone_and_bson_dates_as_utc():
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_time("2024-01-15T10:30:00", berlin).ToDatetime(tzinfo=UTC) == datetime(2024, 1, 15, 9, 30, tzinfo=UTC)
    assert parse_time("2024-01-15T10:30:00+00:00", berlin).ToDatetime(tzinfo=UTC) == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert parse_time(datetime(2024, 1, 15, 10, 30), berlin).ToDatetime(tzinfo=UTC) == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    with pytest.raises(Unmappable, match="not an ISO 8601 time"):
        parse_time("last tuesday", UTC)


def test_a_nan_parameter_cannot_be_mapped():
    with pytest.raises(Unmappable, match="parameters.p_value is nan"):
        map_drift({"_id": "x", "job_status": "Completed", "model": "m", "drift_detected": True, "parameters": {"p_value": float("nan")},
                   "created_at": "2024-01-01T00:00:00"}, UTC)


def test_permissions_in_both_shapes_rewrite_user_ids_and_keep_entitlements():
    ids = {"u-1": "new-1"}
    listed, problems = map_permissions([{"entity": "u-1", "level": "Manage"}, {"entity": "vo#role", "level": "Read"}, {"level": "Edit"}], ids)
    assert [(g.entity, g.level) for g in listed] == [("new-1", experiment_pb2.ACCESS_LEVEL_MANAGE), ("vo#role", experiment_pb2.ACCESS_LEVEL_READ)]
    assert problems == ["a permission without an entity ('Edit') was dropped"]
    older, none = map_permissions({"u-1": "Edit"}, ids)
    assert [(g.entity, g.level) for g in older] == [("new-1", experiment_pb2.ACCESS_LEVEL_EDIT)] and none == []
