"""`go test ./...` for clients/go, against the real stack through Envoy with TLS and signed tokens."""

from __future__ import annotations

import subprocess

import pytest

from tests.clients.gotool import GO_MODULE_DIR, go, go_test

# Every Go test must run and pass here: a skip would mean the stack settings did not reach it.
EXPECTED = {
    "TestRunRecordsACompletedDrift",
    "TestListDriftsByPerFeatureResult",
    "TestRunMarksFailedAndReturnsTheError",
    "TestRunMarksFailedOnPanicAndPanicsOn",
    "TestRunFinishesEvenWhenTheContextIsCancelled",
    "TestRunMarksFailedWhenTheGoroutineExits",
    "TestRunInAnUnknownExperimentIsNotFound",
    "TestFindExperimentIsExactWhateverTheNameContains",
    "TestRunFollowsAnExperimentMadeAgainUnderItsName",
    "TestAPIErrorsCarryCodeAndReason",
    "TestTLSTrustsOnlyTheConfiguredCA",
    "TestTheTokenSourceIsAskedForEveryCall",
    "TestWatchSeesARunFromStartToFinish",
    "TestConfigFromEnv",
    "TestMyTokenExchangesCachesAndKeepsTheRotatedToken",
    "TestMyTokenStateFileBareEmptyOrDamaged",
    "TestMyTokenRotationAcrossProcesses",
    "TestMyTokenRefreshesShortlyBeforeExpiry",
    "TestMyTokenErrorsSayWhatToDo",
    "TestMyTokenThroughTheEdge",
    "TestConfigFromEnvWithMyToken",
    "TestWatchReconnectsAfterACutWithoutGapOrDuplicate",
    "TestWatchFromAResumeToken",
    "TestWatchFromATokenOlderThanTheLogIsOutOfRange",
    "TestRecordsADriftThroughTheEdge",
    "TestRunRenewsItsLease",
    "TestRunWithoutHeartbeatHasNoLease",
    "TestConfigFromEnvHeartbeat",
}


@pytest.mark.timeout(600)
def test_go_client_against_the_stack(edge_env, issuer, stale_watch):
    stale = {
        "DRIFT_MONITOR_TEST_STALE_URL": f"localhost:{stale_watch.envoy.port}",
        "DRIFT_MONITOR_TEST_STALE_EXPERIMENT": stale_watch.experiment_id,
        "DRIFT_MONITOR_TEST_STALE_TOKEN": stale_watch.token,
    }
    run = go_test("./...", env={**edge_env, "DRIFT_MONITOR_TEST_OUTSIDER_TOKEN": issuer.token("outsider"), **stale})
    log = "\n".join(run.output)[-6000:]
    assert not run.failed, f"Go tests failed: {sorted(run.failed)}\n{log}"
    assert not run.skipped, f"Go tests skipped: {sorted(run.skipped)}\n{log}"
    assert EXPECTED <= run.passed, f"did not run: {sorted(EXPECTED - run.passed)}\n{log}"



def test_go_code_is_gofmt_clean():
    goroot = go("env", "GOROOT", env={}, timeout=60).stdout.strip()
    gofmt = subprocess.run([f"{goroot}/bin/gofmt", "-l", "."], cwd=GO_MODULE_DIR, capture_output=True, text=True, timeout=60)
    assert gofmt.returncode == 0 and gofmt.stdout == "", f"not gofmt-formatted:\n{gofmt.stdout}{gofmt.stderr}"
