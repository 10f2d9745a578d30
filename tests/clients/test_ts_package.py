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
