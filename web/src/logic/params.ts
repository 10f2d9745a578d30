// Parameter paths (`concept_drift.parameters.a.b`) the charts and the CSV export work with.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { Drift, DriftResult } from "../gen/drift_monitoring/v1/drift_pb";
import { detected, millis } from "./drifts";

export const SECTIONS = ["concept_drift", "data_drift", "result"] as const;
export type Section = (typeof SECTIONS)[number];

export function section(drift: Drift, name: Section): DriftResult | undefined {
  return name === "concept_drift" ? drift.conceptDrift : name === "data_drift" ? drift.dataDrift : drift.result;
}

/** Leaves of a parameters object as [dotted path, value]; lists are leaves (kept as JSON). */
export function flatten(value: JsonObject, prefix: string): [string, JsonValue][] {
  const out: [string, JsonValue][] = [];
  for (const [key, inner] of Object.entries(value)) {
    const path = `${prefix}.${key}`;
    if (inner !== null && typeof inner === "object" && !Array.isArray(inner)) out.push(...flatten(inner, path));
    else out.push([path, inner]);
  }
  return out;
}

export function parameters(drift: Drift): [string, JsonValue][] {
  return SECTIONS.flatMap((name) => {
    const params = section(drift, name)?.parameters;
    return params ? flatten(params, `${name}.parameters`) : [];
  });
}

/** Paths holding a number in at least one run, sorted: what a chart axis can show. */
export function numericPaths(drifts: Drift[]): string[] {
  const paths = new Set<string>();
  for (const drift of drifts) for (const [path, value] of parameters(drift)) if (typeof value === "number") paths.add(path);
  return [...paths].sort();
}

export function valueAt(drift: Drift, path: string): number | undefined {
  if (path === "create_time") return millis(drift.createTime);
  const [name, , ...keys] = path.split(".");
  let value: JsonValue | undefined = section(drift, name as Section)?.parameters;
  for (const key of keys) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as JsonObject)[key];
  }
  return typeof value === "number" ? value : undefined;
}

export interface Point { x: number; y: number; detected: boolean; id: string }

/** y against x for every run that has both; colour from the verdict of y's section (any verdict for time). */
export function series(drifts: Drift[], x: string, y: string): Point[] {
  const name = y.split(".")[0] as Section;
  const points: Point[] = [];
  for (const drift of drifts) {
    const px = valueAt(drift, x), py = valueAt(drift, y);
    if (px === undefined || py === undefined) continue;
    const verdict = (SECTIONS as readonly string[]).includes(name) ? Boolean(section(drift, name)?.detected) : detected(drift);
    points.push({ x: px, y: py, detected: verdict, id: drift.id });
  }
  return points.sort((a, b) => a.x - b.x);
}

export interface DayRate { day: string; runs: number; detected: number; rate: number }

/** Share of runs with any drift detected, per UTC day of creation, oldest first. */
export function driftRatePerDay(drifts: Drift[]): DayRate[] {
  const days = new Map<string, DayRate>();
  for (const drift of drifts) {
    if (!drift.createTime) continue;
    const day = new Date(millis(drift.createTime)).toISOString().slice(0, 10);
    const entry = days.get(day) ?? { day, runs: 0, detected: 0, rate: 0 };
    entry.runs += 1;
    if (detected(drift)) entry.detected += 1;
    entry.rate = entry.detected / entry.runs;
    days.set(day, entry);
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}
