// WatchDrifts kept alive: reconnects with backoff after network loss or a server restart and resumes
// with the last resume_token, so no event is missed or seen twice.
import { Code, ConnectError } from "@connectrpc/connect";
import { DriftEventType, type WatchDriftsResponse } from "../gen/drift_monitoring/v1/drift_pb";

export type WatchState = "connecting" | "live" | "reconnecting" | "ended";

export interface WatchOptions {
  open: (resumeToken: string, signal: AbortSignal) => AsyncIterable<WatchDriftsResponse>;
  onEvent: (event: WatchDriftsResponse) => void;
  onState: (state: WatchState, error?: ConnectError) => void;
  /** The resume token was older than the retained log: reload, then watch from the present. */
  onGap?: () => void;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Errors that no retry can fix: the experiment is gone or no longer readable. */
const FINAL = new Set([Code.NotFound, Code.PermissionDenied, Code.InvalidArgument, Code.Unauthenticated]);

export function backoff(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });

export async function watchDrifts(options: WatchOptions): Promise<void> {
  const { signal } = options;
  const sleep = options.sleep ?? wait;
  let token = "";
  let attempt = 0;
  options.onState("connecting");
  while (!signal.aborted) {
    try {
      let first = true;
      for await (const event of options.open(token, signal)) {
        if (first) options.onState("live");
        first = false;
        attempt = 0;
        token = event.resumeToken || token;
        if (event.type !== DriftEventType.HEARTBEAT) options.onEvent(event);
      }
    } catch (raw) {
      if (signal.aborted) return;
      const error = ConnectError.from(raw);
      if (error.code === Code.OutOfRange) {
        token = "";
        options.onGap?.();
      } else if (FINAL.has(error.code)) {
        options.onState("ended", error);
        return;
      }
      options.onState("reconnecting", error);
    }
    if (signal.aborted) return;
    await sleep(backoff(attempt++), signal);
  }
}
