import { describe, expect, it } from "vitest";
import { toCsv } from "../../src/logic/csv";
import { driftRatePerDay, numericPaths, series, valueAt } from "../../src/logic/params";
import { linear } from "../../src/logic/scale";
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
