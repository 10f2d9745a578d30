// The friendly drift filter controls, turned into the server's filter language (docs/api.md, "Filters").
// The server does the filtering; this only writes the text, quoting every user value.

export const STATUSES = ["RUNNING", "COMPLETED", "FAILED", "LOST"] as const;
export type Status = (typeof STATUSES)[number];

export interface DriftQuery {
  status: Status[];
  /** Exact model name; a trailing `*` is a prefix match. */
  model: string;
  tags: string[];
  /** Dates (YYYY-MM-DD, UTC), both inclusive. */
  from: string;
  to: string;
  /** Raw filter text, ANDed with the controls. */
  text: string;
}

export const EMPTY_QUERY: DriftQuery = { status: [], model: "", tags: [], from: "", to: "", text: "" };

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A double-quoted literal; a trailing `*` stays a wildcard only when asked. */
export function quote(value: string, wildcard = false): string {
  let body = value;
  let star = "";
  if (wildcard && body.endsWith("*")) {
    body = body.slice(0, -1);
    star = "*";
  }
  const escaped = body.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\t/g, "\\t");
  // An unescaped trailing "*" would turn an exact value into a prefix match.
  return `"${escaped.endsWith("*") ? escaped.slice(0, -1) + "\\*" : escaped}${star}"`;
}

export function nextDay(date: string): string {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

/** The filter text for the controls; throws on a malformed date so the form can say which one. */
export function buildFilter(query: DriftQuery): string {
  const parts: string[] = [];
  if (query.status.length === 1) parts.push(`status = ${query.status[0]}`);
  else if (query.status.length > 1) parts.push(`(${query.status.map((s) => `status = ${s}`).join(" OR ")})`);
  if (query.model.trim()) parts.push(`model = ${quote(query.model.trim(), true)}`);
  for (const tag of query.tags) if (tag.trim()) parts.push(`tags:${quote(tag.trim())}`);
  for (const [name, value] of [["from", query.from], ["to", query.to]] as const) {
    if (value && !DATE.test(value)) throw new Error(`${name}: a date like 2026-11-01, got ${JSON.stringify(value)}`);
  }
  if (query.from) parts.push(`start_time >= ${query.from}`);  // the day the run started, as the table shows
  if (query.to) parts.push(`start_time < ${nextDay(query.to)}`);
  if (query.text.trim()) parts.push(parts.length ? `(${query.text.trim()})` : query.text.trim());
  return parts.join(" AND ");
}

export function isEmpty(query: DriftQuery): boolean {
  return buildFilter(query) === "";
}
