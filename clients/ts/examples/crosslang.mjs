// The TypeScript side of the cross-language scenario (tests/clients/test_scenario.py), plain JS on the built
// package (`npm run build` first): register, create an experiment, start watching it, record the runs of a
// spec file with the same calls as DriftMonitor (create RUNNING, one update per result, then complete), list
// them, and collect the watched events until every run is complete. Prints {experiment_id, listed, watched}
// as proto JSON with proto field names, like the Python, Go and curl sides.
//   NODE_EXTRA_CA_CERTS=dev-ca.pem DRIFT_MONITOR_URL=localhost:8443 DRIFT_MONITOR_TOKEN=... \
//     node examples/crosslang.mjs SPEC.json EXPERIMENT_NAME
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import {
  createClients, DriftEventType, DriftResultSchema, DriftSchema, DriftStatus, WatchDriftsResponseSchema,
} from "@drift-monitoring/client";

const RESULTS = { concept_drift: "conceptDrift", data_drift: "dataDrift", result: "result" }; // proto name: TS field, recorded in this order
const [specPath, name] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specPath, "utf8"));
const { experiments, drifts, users } = createClients(`https://${process.env.DRIFT_MONITOR_URL}`, { token: process.env.DRIFT_MONITOR_TOKEN });
const options = { timeoutMs: 30_000 };
const protoJson = (schema, message) => toJson(schema, message, { useProtoFieldName: true });

await users.registerUser({ acceptTerms: true }, options);
const experiment = await experiments.createExperiment({ experiment: { name, description: spec.experiment_description } }, options);
const stop = new AbortController();
const events = drifts.watchDrifts({ experimentId: experiment.id }, { signal: stop.signal })[Symbol.asyncIterator]();
const first = await events.next(); // a heartbeat: the watch is live before anything is recorded
if (first.done || first.value.type !== DriftEventType.HEARTBEAT) throw new Error(`watch: first event ${JSON.stringify(first.value)}`);

for (const run of spec.runs) {
  const recorded = Object.keys(RESULTS).filter((field) => field in run);
  const results = Object.fromEntries(recorded.map((field) => [RESULTS[field], fromJson(DriftResultSchema, run[field])]));
  const drift = await drifts.createDrift({
    experimentId: experiment.id, requestId: randomUUID(),
    drift: { model: run.model, tags: run.tags, status: DriftStatus.RUNNING, startTime: timestampNow() },
  }, options);
  const update = (fields, paths) => drifts.updateDrift({ drift: { ...drift, ...fields }, updateMask: { paths } }, options);
  for (const field of recorded) await update({ [RESULTS[field]]: results[RESULTS[field]] }, [field]);
  await update({ ...results, status: DriftStatus.COMPLETED, endTime: timestampNow(), errorMessage: "" },
    ["status", "end_time", "error_message", ...recorded]);
}

const listed = (await drifts.listDrifts({ experimentId: experiment.id, orderBy: "create_time" }, options)).drifts;
const watched = [];
const complete = new Set();
while (complete.size < spec.runs.length) {
  const next = await events.next();
  if (next.done) throw new Error("watch ended early");
  if (next.value.type === DriftEventType.HEARTBEAT) continue;
  watched.push(protoJson(WatchDriftsResponseSchema, next.value));
  if (next.value.drift?.status === DriftStatus.COMPLETED) complete.add(next.value.drift.id);
}
stop.abort();
console.log(JSON.stringify({ experiment_id: experiment.id, listed: listed.map((d) => protoJson(DriftSchema, d)), watched }));
