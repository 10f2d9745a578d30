// Drifts as the server sends them, built with the generated schemas.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { DriftEventType, DriftSchema, DriftStatus, WatchDriftsResponseSchema, type Drift } from "@gen/drift_monitoring/v1/drift_pb";

export function drift(id: string, at: string, extra: Partial<{ model: string; status: DriftStatus; concept: [boolean, object]; data: [boolean, object]; tags: string[] }> = {}): Drift {
  return create(DriftSchema, {
    id, model: extra.model ?? "m", status: extra.status ?? DriftStatus.COMPLETED, tags: extra.tags ?? [],
    createTime: timestampFromMs(Date.parse(at)), startTime: timestampFromMs(Date.parse(at)),
    conceptDrift: extra.concept ? { detected: extra.concept[0], parameters: extra.concept[1] as never } : undefined,
    dataDrift: extra.data ? { detected: extra.data[0], parameters: extra.data[1] as never } : undefined,
  });
}

export function event(type: DriftEventType, value: Drift, token = "t") {
  return create(WatchDriftsResponseSchema, { type, drift: value, resumeToken: token });
}
