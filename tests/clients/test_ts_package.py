"""clients/ts's createClients through the test Envoy, as a TypeScript user imports it: a token function is
asked on every call, a caller's own transport gets the token too, and no token is UNAUTHENTICATED."""

from __future__ import annotations

import json

import pytest

from tests.clients import scenario

SCRIPT = """
import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createClients } from "@drift-monitoring/client";
const baseUrl = `https://${process.env.DRIFT_MONITOR_URL}`;
let asked = 0;
const token = () => { asked += 1; return process.env.DRIFT_MONITOR_TOKEN; };
const { users } = createClients(baseUrl, { token, transport: createGrpcTransport({ baseUrl }) });
await users.registerUser({ acceptTerms: true });
const user = await users.getCurrentUser({});
let anonymous;
try { await createClients(baseUrl).users.getCurrentUser({}); } catch (error) { anonymous = Code[ConnectError.from(error).code]; }
console.log(JSON.stringify({ asked, subject: user.subject, email: user.email, anonymous }));
"""


@pytest.mark.timeout(240)
def test_create_clients_through_envoy(edge_env):
    scenario.build_typescript()
    result = scenario.node(["--input-type=module", "-e", SCRIPT], edge_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["asked"] == 2 and report["subject"] and "@" in report["email"], report
    assert report["anonymous"] == "Unauthenticated", report


STALE_SCRIPT = """
import { Code, ConnectError } from "@connectrpc/connect";
import { createClients } from "@drift-monitoring/client";
const { drifts } = createClients(`https://${process.env.DRIFT_MONITOR_URL}`, { token: process.env.DRIFT_MONITOR_TOKEN });
let events = 0, code, message;
try {
  for await (const _ of drifts.watchDrifts({ experimentId: process.env.STALE_EXPERIMENT, resumeToken: process.env.STALE_TOKEN })) events += 1;
} catch (error) { const e = ConnectError.from(error); code = Code[e.code]; message = e.rawMessage; }
console.log(JSON.stringify({ events, code, message }));
"""


@pytest.mark.timeout(240)
def test_a_resume_token_older_than_the_log_is_out_of_range_in_typescript(edge_env, issuer, stale_watch):
    """The same OUT_OF_RANGE the Python and Go clients see (issue 15.5): a TypeScript caller gets Code.OutOfRange,
    at once and with nothing delivered, so it can tell "resync" from "fix the request"."""
    scenario.build_typescript()
    env = {**edge_env, "DRIFT_MONITOR_URL": f"localhost:{stale_watch.envoy.port}",
           "STALE_EXPERIMENT": stale_watch.experiment_id, "STALE_TOKEN": stale_watch.token}
    result = scenario.node(["--input-type=module", "-e", STALE_SCRIPT], env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["code"] == "OutOfRange" and report["events"] == 0, report
    assert report["message"].startswith("resume_token: ") and "older than the event log keeps" in report["message"], report


FEATURE_SCRIPT = """
import { Code, ConnectError } from "@connectrpc/connect";
import { createClients } from "@drift-monitoring/client";
const { users, experiments, drifts } = createClients(`https://${process.env.DRIFT_MONITOR_URL}`, { token: process.env.DRIFT_MONITOR_TOKEN });
await users.registerUser({ acceptTerms: true });
const experiment = await experiments.createExperiment({ experiment: { name: `ts-features-${Date.now()}-${Math.random()}` } });
const feature = (name, detected) => ({ feature: name, test: "ks", statistic: detected ? 0.4 : 0.05, pValue: detected ? 0.001 : 0.6, detected });
for (const [model, features] of [["age-drifted", [feature("age", true), feature("income", false)]],
                                 ["income-drifted", [feature("age", false), feature("income", true)]]]) {
  await drifts.createDrift({ experimentId: experiment.id, drift: { model, dataDrift: { detected: true, features } } });
}
const listed = await drifts.listDrifts({ experimentId: experiment.id, filter: 'data_drift.features.feature = "age" AND data_drift.features.detected = true' });
let refused;
try { await drifts.listDrifts({ experimentId: experiment.id, filter: "data_drift.features = age" }); }
catch (error) { const e = ConnectError.from(error); refused = [Code[e.code], e.rawMessage]; }
console.log(JSON.stringify({ models: listed.drifts.map((d) => d.model), refused }));
"""


@pytest.mark.timeout(240)
def test_per_feature_filters_pass_through_the_typescript_client(edge_env):
    scenario.build_typescript()
    result = scenario.node(["--input-type=module", "-e", FEATURE_SCRIPT], edge_env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["models"] == ["age-drifted"], report
    assert report["refused"][0] == "InvalidArgument" and report["refused"][1].startswith("filter: data_drift.features"), report
