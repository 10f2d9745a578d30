"""A resume token older than the server's event log: OutOfRangeError (resync), never a retry loop."""

from __future__ import annotations

import pytest

from drift_monitoring import Client, DriftMonitorError, InvalidArgumentError, OutOfRangeError


def test_a_token_older_than_the_log_is_out_of_range(stale_watch, ca_pem, issuer):
    settings = {"url": f"localhost:{stale_watch.envoy.port}", "ca_bundle": str(ca_pem), "token": issuer.token("manager"), "timeout": 5}
    with Client(**settings) as client:
        with pytest.raises(OutOfRangeError, match="older than the event log keeps") as raised:
            next(client.watch_drifts(stale_watch.experiment_id, stale_watch.token))
        assert not isinstance(raised.value, InvalidArgumentError)  # nothing to fix in the request
        watching = client.watch_drifts(stale_watch.experiment_id)  # from the present: fine
        assert next(watching).resume_token
        watching.close()


def test_out_of_range_is_its_own_kind_of_error():
    assert issubclass(OutOfRangeError, DriftMonitorError) and not issubclass(OutOfRangeError, InvalidArgumentError)
