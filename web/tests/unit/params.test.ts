import { describe, expect, it } from "vitest";
import { toCsv } from "../../src/logic/csv";
import { create } from "@bufbuild/protobuf";
import { DriftResultSchema } from "@gen/drift_monitoring/v1/drift_pb";
import { chartPaths, driftRatePerDay, informativePath, numericPaths, series, valueAt } from "../../src/logic/params";
import { linear, timeTicks } from "../../src/logic/scale";
import { drift } from "./fixtures";

const runs = [
  drift("a", "2026-11-01T10:00:00Z", { concept: [true, { p_value: 0.01, nested: { ks: 0.3 }, name: "x" }], data: [false, { drifted: 1 }] }),
  drift("b", "2026-11-01T12:00:00Z", { concept: [false, { p_value: 0.4 }] }),
  drift("c", "2026-11-02T09:00:00Z", { data: [true, { drifted: "=cmd|' /C calc'!A0", list: [1, 2] }] }),
];

describe("parameter paths", () => {
  it("lists numeric leaves only, nested ones dotted", () => {
    expect(numericPaths(runs)).toEqual(["concept_drift.parameters.nested.ks", "concept_drift.parameters.p_value", "data_drift.parameters.drifted"]);
  });
  it("reads values by path, time as milliseconds", () => {
    expect(valueAt(runs[0], "concept_drift.parameters.nested.ks")).toBe(0.3);
    expect(valueAt(runs[0], "concept_drift.parameters.name")).toBeUndefined();
    expect(valueAt(runs[2], "concept_drift.parameters.p_value")).toBeUndefined();
    expect(valueAt(runs[0], "create_time")).toBe(Date.parse("2026-11-01T10:00:00Z"));
  });
  it("colours a point by the verdict of the section it comes from", () => {
    expect(series(runs, "create_time", "concept_drift.parameters.p_value").map((p) => [p.id, p.detected])).toEqual([["a", true], ["b", false]]);
    expect(series(runs, "concept_drift.parameters.p_value", "data_drift.parameters.drifted").map((p) => [p.x, p.y, p.detected])).toEqual([[0.01, 1, false]]);
  });
  it("computes the drift rate per UTC day", () => {
    expect(driftRatePerDay(runs)).toEqual([
      { day: "2026-11-01", runs: 2, detected: 1, rate: 0.5 },
      { day: "2026-11-02", runs: 1, detected: 1, rate: 1 },
    ]);
  });
});

describe("CSV", () => {
  const text = toCsv(runs);
  const lines = text.trimEnd().split("\r\n");
  it("has fixed columns then every parameter path", () => {
    expect(lines[0]).toBe("id,model,status,tags,create_time,start_time,end_time,concept_drift.detected,data_drift.detected,result.detected,error_message," +
      "concept_drift.parameters.name,concept_drift.parameters.nested.ks,concept_drift.parameters.p_value,data_drift.parameters.drifted,data_drift.parameters.list");
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain("a,m,COMPLETED,,2026-11-01T10:00:00.000Z");
  });
  it("quotes commas and quotes and defuses spreadsheet formulas", () => {
    expect(lines[3]).toContain(`'=cmd|' /C calc'!A0`);
    expect(lines[3]).toContain('"[1,2]"');
  });
});

describe("scale", () => {
  it("maps linearly with round ticks, and widens a single value", () => {
    const s = linear([0, 10], [0, 100]);
    expect(s(5)).toBe(50);
    expect(s.ticks).toEqual([0, 2, 4, 6, 8, 10]);
    expect(linear([3, 3], [0, 100])(3)).toBe(50);
  });
});

describe("what a chart opens on", () => {
  const withFeatures = (id: string, at: string, threshold: number, distance: number, pValue: number) => {
    const run = drift(id, at, { concept: [false, { threshold, wasserstein: distance }] });
    run.dataDrift = create(DriftResultSchema, { detected: pValue < 0.05, features: [{ feature: "age", test: "ks", statistic: 1 - pValue, pValue, threshold: 0.05, detected: pValue < 0.05 }] });
    return run;
  };
  const runs = [withFeatures("a", "2026-11-01T00:00:00Z", 0.1, 0.2, 0.3), withFeatures("b", "2026-11-08T00:00:00Z", 0.1, 0.4, 0.01)];
  it("offers per-feature p-values and statistics, and reads them", () => {
    expect(chartPaths(runs)).toEqual(["concept_drift.parameters.threshold", "concept_drift.parameters.wasserstein",
      "data_drift.features[age].p_value", "data_drift.features[age].statistic"]);
    expect(valueAt(runs[1], "data_drift.features[age].p_value")).toBe(0.01);
    expect(valueAt(runs[1], "start_time")).toBe(Date.parse("2026-11-08T00:00:00Z"));
    expect(series(runs, "start_time", "data_drift.features[age].p_value").map((p) => p.detected)).toEqual([false, true]);
  });
  it("skips constants and prefers a p-value, then a statistic or distance", () => {
    const paths = chartPaths(runs);
    expect(informativePath(runs, paths)).toBe("data_drift.features[age].p_value");
    expect(informativePath(runs, paths.filter((p) => !p.includes("p_value")))).toBe("concept_drift.parameters.wasserstein");
    expect(informativePath(runs, ["concept_drift.parameters.threshold"])).toBe("concept_drift.parameters.threshold");  // nothing better
  });
});

describe("time axis", () => {
  it("puts few enough ticks on whole days, labelled by date", () => {
    const { ticks, label } = timeTicks([Date.parse("2026-11-01T12:00:00Z"), Date.parse("2026-11-30T12:00:00Z")], 8);
    expect(ticks.length).toBeLessThanOrEqual(8);
    expect(ticks.every((t) => t % 86_400_000 === 0)).toBe(true);
    expect(ticks.map(label)).toEqual(["Nov 5", "Nov 12", "Nov 19", "Nov 26"]);  // weeks: 29 days in at most 8 ticks
  });
  it("shows the clock within a day", () => {
    const { ticks, label } = timeTicks([Date.parse("2026-11-01T08:00:00Z"), Date.parse("2026-11-01T20:00:00Z")], 6);
    expect(ticks.map(label)).toEqual(["Nov 1 09:00", "Nov 1 12:00", "Nov 1 15:00", "Nov 1 18:00"]);
  });
});
