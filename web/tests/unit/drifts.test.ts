import { describe, expect, it } from "vitest";
import { DriftEventType, DriftStatus } from "@gen/drift_monitoring/v1/drift_pb";
import { applyEvent, comparator, detected } from "../../src/logic/drifts";
import { drift, event } from "./fixtures";

const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

describe("applyEvent", () => {
  const rows = [drift("b", "2026-11-02T00:00:00Z"), drift("a", "2026-11-01T00:00:00Z")];

  it("puts a created run where the order says", () => {
    const { rows: next } = applyEvent(rows, event(DriftEventType.CREATED, drift("c", "2026-11-03T00:00:00Z")), "create_time desc");
    expect(ids(next)).toEqual(["c", "b", "a"]);
    expect(ids(applyEvent(rows, event(DriftEventType.CREATED, drift("c", "2026-11-03T00:00:00Z")), "create_time").rows)).toEqual(["a", "b", "c"]);
  });
  it("replaces an updated run instead of adding it twice", () => {
    const updated = drift("a", "2026-11-01T00:00:00Z", { status: DriftStatus.FAILED });
    const { rows: next } = applyEvent(rows, event(DriftEventType.UPDATED, updated), "create_time desc");
    expect(ids(next)).toEqual(["b", "a"]);
    expect(next[1].status).toBe(DriftStatus.FAILED);
  });
  it("removes a deleted run and ignores heartbeats", () => {
    expect(ids(applyEvent(rows, event(DriftEventType.DELETED, drift("b", "2026-11-02T00:00:00Z")), "create_time desc").rows)).toEqual(["a"]);
    expect(applyEvent(rows, event(DriftEventType.HEARTBEAT, drift("x", "2026-11-02T00:00:00Z")), "create_time desc")).toEqual({ rows, changed: false });
  });
  it("sorts by status name and model like the server, ties by id", () => {
    const list = [drift("2", "2026-11-01T00:00:00Z", { status: DriftStatus.RUNNING }), drift("1", "2026-11-01T00:00:00Z", { status: DriftStatus.FAILED }), drift("0", "2026-11-01T00:00:00Z", { status: DriftStatus.FAILED })];
    expect(ids([...list].sort(comparator("status")))).toEqual(["0", "1", "2"]);
  });
});

describe("detected", () => {
  it("is any verdict", () => {
    expect(detected(drift("a", "2026-11-01T00:00:00Z", { concept: [false, {}], data: [true, {}] }))).toBe(true);
    expect(detected(drift("a", "2026-11-01T00:00:00Z", { concept: [false, {}] }))).toBe(false);
  });
});
