// Live updates of the drifts table: watch events applied to the rows on screen.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { DriftEventType, DriftStatus, type Drift, type WatchDriftsResponse } from "@gen/drift_monitoring/v1/drift_pb";

export function millis(ts: Timestamp | undefined): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0;
}

export function statusName(status: DriftStatus): string {
  return DriftStatus[status]?.replace("DRIFT_STATUS_", "") ?? "UNSPECIFIED";
}

/** Whether any verdict of the run says drift. */
export function detected(drift: Drift): boolean {
  return Boolean(drift.conceptDrift?.detected || drift.dataDrift?.detected || drift.result?.detected);
}

/** The server's ordering (docs/api.md, "Paging and ordering"), ties broken by id as its keyset cursor does. */
export function comparator(order: string): (a: Drift, b: Drift) => number {
  const [field, direction] = order.split(" ");
  const sign = direction === "desc" ? -1 : 1;
  const key = (d: Drift): number | string => {
    switch (field) {
      case "update_time": return millis(d.updateTime);
      case "start_time": return millis(d.startTime);
      case "model": return d.model;
      case "status": return statusName(d.status);
      default: return millis(d.createTime);
    }
  };
  return (a, b) => {
    const ka = key(a), kb = key(b);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return sign * c;
  };
}

export type Applied = { rows: Drift[]; changed: boolean };

/**
 * One event applied to the rows: created and updated runs are placed by the order, deleted ones
 * removed. With `limit`, rows pushed past the loaded page are dropped (paging brings them back).
 */
export function applyEvent(rows: Drift[], event: WatchDriftsResponse, order: string, limit = Infinity): Applied {
  const drift = event.drift;
  if (!drift || event.type === DriftEventType.HEARTBEAT || event.type === DriftEventType.UNSPECIFIED) return { rows, changed: false };
  const others = rows.filter((row) => row.id !== drift.id);
  if (event.type === DriftEventType.DELETED) return { rows: others, changed: others.length !== rows.length };
  const next = [...others, drift].sort(comparator(order));
  return { rows: next.slice(0, Math.max(limit, rows.length)), changed: true };
}
