// CSV export (RFC 4180) of the runs on screen: fixed columns, then one column per parameter path.
import type { Drift } from "@gen/drift_monitoring/v1/drift_pb";
import { millis, statusName } from "./drifts";
import { parameters } from "./params";

export function cell(value: unknown): string {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  // Cells starting with = + - @ run as formulas in spreadsheets: a leading quote keeps them text.
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === "string" ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const iso = (ms: number) => (ms ? new Date(ms).toISOString() : "");

export function toCsv(drifts: Drift[]): string {
  const paths = [...new Set(drifts.flatMap((d) => parameters(d).map(([path]) => path)))].sort();
  const header = ["id", "model", "status", "tags", "create_time", "start_time", "end_time",
    "concept_drift.detected", "data_drift.detected", "result.detected", "error_message", ...paths];
  const lines = [header.map(cell).join(",")];
  for (const d of drifts) {
    const values = new Map(parameters(d));
    lines.push([
      d.id, d.model, statusName(d.status), d.tags.join(" "), iso(millis(d.createTime)), iso(millis(d.startTime)), iso(millis(d.endTime)),
      d.conceptDrift?.detected ?? "", d.dataDrift?.detected ?? "", d.result?.detected ?? "", d.errorMessage,
      ...paths.map((path) => values.get(path)),
    ].map(cell).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
