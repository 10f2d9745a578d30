"""`go test ./...` for clients/go, against the real stack through Envoy with TLS and signed tokens."""

from __future__ import annotations

import pytest

from tests.clients.gotool import go_test

# Every Go test must run and pass here: a skip would mean the stack settings did not reach it.
EXPECTED = {
    "TestRunRecordsACompletedDrift",
    "TestRunMarksFailedAndReturnsTheError",
    "TestRunMarksFailedOnPanicAndPanicsOn",
    "TestRunFinishesEvenWhenTheContextIsCancelled",
    "TestRunInAnUnknownExperimentIsNotFound",
    "TestAPIErrorsCarryCodeAndReason",
    "TestTLSTrustsOnlyTheConfiguredCA",
    "TestTheTokenSourceIsAskedForEveryCall",
    "TestWatchSeesARunFromStartToFinish",
    "TestConfigFromEnv",
    "TestRecordsADriftThroughTheEdge",
}


@pytest.mark.timeout(600)
def test_go_client_against_the_stack(edge_env, issuer):
    run = go_test("./...", env={**edge_env, "DRIFT_MONITOR_TEST_OUTSIDER_TOKEN": issuer.token("outsider")})
    log = "\n".join(run.output)[-6000:]
    assert not run.failed, f"Go tests failed: {sorted(run.failed)}\n{log}"
    assert not run.skipped, f"Go tests skipped: {sorted(run.skipped)}\n{log}"
    assert EXPECTED <= run.passed, f"did not run: {sorted(EXPECTED - run.passed)}\n{log}"
