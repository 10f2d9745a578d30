// WatchDrifts kept alive: reconnects with backoff after network loss or a server restart and resumes
// with the last resume_token, so no event is missed or seen twice.
//   OUT_OF_RANGE                 the token is older than the server's event log keeps: watch from now, and
//                                once that stream is live the view re-reads its rows (onGap)
//   NOT_FOUND, PERMISSION_DENIED the experiment is gone or no longer readable: stop ("ended", with why)
//   UNAUTHENTICATED              once after a live stream (the next attempt sends the token as it is now,
//                                refreshed if the session could be), else stop
//   anything else                reconnect with backoff
import { Code, ConnectError } from "@connectrpc/connect";
import { DriftEventType, type WatchDriftsResponse } from "@gen/drift_monitoring/v1/drift_pb";

export type WatchState = "connecting" | "live" | "reconnecting" | "ended";

export interface WatchOptions {
  open: (resumeToken: string, signal: AbortSignal) => AsyncIterable<WatchDriftsResponse>;
  onEvent: (event: WatchDriftsResponse) => void;
  onState: (state: WatchState, error?: ConnectError) => void;
  /** The resume token was older than the retained log: the new stream is live from now; reload the rows. */
  onGap?: () => void;
  signal: AbortSignal;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Errors that no retry can fix: the experiment is gone or no longer readable, or the request is wrong. */
const FINAL = new Set([Code.NotFound, Code.PermissionDenied, Code.InvalidArgument, Code.Unauthenticated]);

/** Why live updates ended, in words for the person watching. */
export function endedReason(error: ConnectError): string {
  switch (error.code) {
    case Code.NotFound: return "the experiment was deleted, or you can no longer read it";
    case Code.PermissionDenied: return "your access to this experiment was withdrawn";
    case Code.Unauthenticated: return "your sign-in expired or was revoked: sign in again";
    default: return error.rawMessage;
  }
}

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
  let gap = false;  // the token was too old: the next live stream starts from now
  let refused = false;  // the last attempt was refused for its token
  options.onState("connecting");
  while (!signal.aborted) {
    let now = false;  // reconnect without waiting
    try {
      let first = true;
      for await (const event of options.open(token, signal)) {
        if (first) {
          options.onState("live");
          if (gap) options.onGap?.();
          gap = refused = false;
        }
        first = false;
        attempt = 0;
        token = event.resumeToken || token;
        if (event.type !== DriftEventType.HEARTBEAT) options.onEvent(event);
      }
    } catch (raw) {
      if (signal.aborted) return;
      const error = ConnectError.from(raw);
      if (error.code === Code.OutOfRange) {
        [token, gap, now] = ["", true, true];
      } else if (error.code === Code.Unauthenticated && token && !refused) {
        [refused, now] = [true, true];
      } else if (FINAL.has(error.code)) {
        options.onState("ended", error);
        return;
      }
      options.onState("reconnecting", error);
    }
    if (signal.aborted) return;
    if (!now) await sleep(backoff(attempt++), signal);
  }
}
