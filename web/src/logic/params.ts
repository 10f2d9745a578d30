// Parameter paths (`concept_drift.parameters.a.b`) the charts and the CSV export work with.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { Drift, DriftResult, FeatureResult } from "@gen/drift_monitoring/v1/drift_pb";
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

/** The run times a chart can put on an axis: when the job started (what the runs are ordered by), or was stored. */
export const TIMES = ["start_time", "create_time"] as const;
export const isTime = (path: string) => (TIMES as readonly string[]).includes(path);

const MEASURES = ["p_value", "statistic"] as const;
/** At most this many features offer their p-value and statistic as chart axes (a run may have 10000). */
const MAX_FEATURES = 50;
const FEATURE = /^(concept_drift|data_drift|result)\.features\[(.*)\]\.(p_value|statistic)$/;

/** `data_drift.features[age].p_value`: a per-feature result as a chart axis. */
export function featurePaths(drifts: Drift[]): string[] {
  const paths = new Set<string>();
  const names = new Set<string>();
  for (const drift of drifts) {
    for (const name of SECTIONS) {
      for (const feature of section(drift, name)?.features ?? []) {
        if (!names.has(feature.feature) && names.size >= MAX_FEATURES) continue;
        names.add(feature.feature);
        for (const measure of MEASURES) paths.add(`${name}.features[${feature.feature}].${measure}`);
      }
    }
  }
  return [...paths].sort();
}

/** What a chart's y axis can show: numeric parameters and per-feature results. */
export function chartPaths(drifts: Drift[]): string[] {
  return [...numericPaths(drifts), ...featurePaths(drifts)];
}

/**
 * The path a chart opens on: one whose values change from run to run (a constant such as a threshold
 * draws a flat line), a p-value first, then a test statistic or distance, else any that changes.
 */
export function informativePath(drifts: Drift[], paths: string[]): string {
  const rank = (path: string): number => {
    const values = new Set(drifts.map((d) => valueAt(d, path)).filter((v) => v !== undefined));
    if (values.size < 2) return 3;
    const leaf = path.split(".").pop() ?? "";
    if (/p_?value/i.test(leaf)) return 0;
    if (/statistic|distance|divergence|wasserstein|score/i.test(leaf)) return 1;
    return 2;
  };
  let best = paths[0] ?? "", bestRank = Infinity;
  for (const path of paths) {
    const r = rank(path);
    if (r < bestRank) [best, bestRank] = [path, r];
    if (r === 0) break;
  }
  return best;
}

export function valueAt(drift: Drift, path: string): number | undefined {
  if (path === "create_time") return millis(drift.createTime);
  if (path === "start_time") return millis(drift.startTime ?? drift.createTime);
  const feature = FEATURE.exec(path);
  if (feature) {
    const found = section(drift, feature[1] as Section)?.features.find((f) => f.feature === feature[2]);
    return found ? (feature[3] === "p_value" ? found.pValue : found.statistic) : undefined;
  }
  const [name, , ...keys] = path.split(".");
  let value: JsonValue | undefined = section(drift, name as Section)?.parameters;
  for (const key of keys) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as JsonObject)[key];
  }
  return typeof value === "number" ? value : undefined;
}

export interface Point { x: number; y: number; detected: boolean; id: string }

/** y against x for every run that has both; colour from the verdict of y's feature or section (any verdict for time). */
export function series(drifts: Drift[], x: string, y: string): Point[] {
  const name = y.split(".")[0] as Section;
  const feature = FEATURE.exec(y);
  const points: Point[] = [];
  for (const drift of drifts) {
    const px = valueAt(drift, x), py = valueAt(drift, y);
    if (px === undefined || py === undefined) continue;
    const verdict = feature ? Boolean(section(drift, name)?.features.find((f) => f.feature === feature[2])?.detected)
      : (SECTIONS as readonly string[]).includes(name) ? Boolean(section(drift, name)?.detected) : detected(drift);
    points.push({ x: px, y: py, detected: verdict, id: drift.id });
  }
  return points.sort((a, b) => a.x - b.x);
}

export interface DayRate { day: string; runs: number; detected: number; rate: number }

/** Share of runs with any drift detected, per UTC day the run started, oldest first. */
export function driftRatePerDay(drifts: Drift[]): DayRate[] {
  const days = new Map<string, DayRate>();
  for (const drift of drifts) {
    const started = drift.startTime ?? drift.createTime;
    if (!started) continue;
    const day = new Date(millis(started)).toISOString().slice(0, 10);
    const entry = days.get(day) ?? { day, runs: 0, detected: 0, rate: 0 };
    entry.runs += 1;
    if (detected(drift)) entry.detected += 1;
    entry.rate = entry.detected / entry.runs;
    days.set(day, entry);
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1));
}

/** Features with the largest statistic first (the most moved); ties (tests with only a p-value) by p-value. */
export function byStatistic(features: readonly FeatureResult[]): FeatureResult[] {
  return [...features].sort((a, b) => b.statistic - a.statistic || (a.pValue ?? 1) - (b.pValue ?? 1) || a.feature.localeCompare(b.feature));
}
