import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DriftEventType, type WatchDriftsResponse } from "@gen/drift_monitoring/v1/drift_pb";
import { endedReason, watchDrifts, type WatchState } from "../../src/logic/watch";
import { drift, event } from "./fixtures";

/** A server that plays one script per connection: events, then an error (or the end). */
function server(scripts: { events: WatchDriftsResponse[]; error?: ConnectError }[]) {
  const tokens: string[] = [];
  const open = (token: string) => {
    tokens.push(token);
    const script = scripts.shift();
    return (async function* () {
      if (!script) throw new ConnectError("no more", Code.NotFound);
      yield* script.events;
      if (script.error) throw script.error;
    })();
  };
  return { open, tokens };
}

describe("watchDrifts", () => {
  it("resumes after a network loss with the last token, and ends on NOT_FOUND", async () => {
    const a = drift("a", "2026-11-01T00:00:00Z"), b = drift("b", "2026-11-01T00:00:00Z");
    const { open, tokens } = server([
      { events: [event(DriftEventType.HEARTBEAT, a, "t0"), event(DriftEventType.CREATED, a, "t1")], error: new ConnectError("network", Code.Unavailable) },
      { events: [event(DriftEventType.UPDATED, b, "t2")], error: new ConnectError("deleted", Code.NotFound) },
    ]);
    const seen: string[] = [];
    const states: WatchState[] = [];
    await watchDrifts({
      open, signal: new AbortController().signal, sleep: async () => {},
      onEvent: (e) => seen.push(`${DriftEventType[e.type]} ${e.drift?.id}`),
      onState: (s) => states.push(s),
    });
    expect(tokens).toEqual(["", "t1"]);
    expect(seen).toEqual(["CREATED a", "UPDATED b"]);  // heartbeats are not events
    expect(states).toEqual(["connecting", "live", "reconnecting", "live", "ended"]);
  });

  it("starts over from the present when the token is too old, and has the rows re-read once that stream is live", async () => {
    const a = drift("a", "2026-11-01T00:00:00Z");
    const order: string[] = [];
    const { open, tokens } = server([
      { events: [event(DriftEventType.CREATED, a, "t1")], error: new ConnectError("gone", Code.OutOfRange) },
      { events: [event(DriftEventType.HEARTBEAT, a, "t9"), event(DriftEventType.UPDATED, a, "t10")], error: new ConnectError("deleted", Code.NotFound) },
    ]);
    let slept = 0;
    await watchDrifts({
      open, signal: new AbortController().signal, sleep: async () => { slept++; },
      onEvent: (e) => order.push(DriftEventType[e.type]), onState: (s) => order.push(s), onGap: () => order.push("gap"),
    });
    expect(tokens).toEqual(["", ""]);
    expect(order).toEqual(["connecting", "live", "CREATED", "reconnecting", "live", "gap", "UPDATED", "ended"]);
    expect(slept).toBe(0);  // no backoff before starting over
  });

  it("retries UNAUTHENTICATED once after a live stream, then ends saying why", async () => {
    const a = drift("a", "2026-11-01T00:00:00Z");
    const { open, tokens } = server([
      { events: [event(DriftEventType.HEARTBEAT, a, "t1")], error: new ConnectError("expired", Code.Unauthenticated) },
      { events: [], error: new ConnectError("expired", Code.Unauthenticated) },
    ]);
    let ended: ConnectError | undefined;
    await watchDrifts({ open, signal: new AbortController().signal, sleep: async () => {}, onEvent: () => {},
      onState: (s, e) => { if (s === "ended") ended = e; } });
    expect(tokens).toEqual(["", "t1"]);
    expect(ended && endedReason(ended)).toBe("your sign-in expired or was revoked: sign in again");
  });

  it("ends at once on PERMISSION_DENIED, and on UNAUTHENTICATED before anything was live", async () => {
    for (const code of [Code.PermissionDenied, Code.Unauthenticated]) {
      const { open, tokens } = server([{ events: [], error: new ConnectError("no", code) }]);
      const states: WatchState[] = [];
      await watchDrifts({ open, signal: new AbortController().signal, sleep: async () => {}, onEvent: () => {}, onState: (s) => states.push(s) });
      expect(tokens).toEqual([""]);
      expect(states).toEqual(["connecting", "ended"]);
    }
    expect(endedReason(new ConnectError("no", Code.PermissionDenied))).toBe("your access to this experiment was withdrawn");
  });

  it("stops quietly when aborted", async () => {
    const abort = new AbortController();
    const { open, tokens } = server([{ events: [], error: new ConnectError("network", Code.Unavailable) }]);
    const states: WatchState[] = [];
    await watchDrifts({ open, signal: abort.signal, sleep: async () => abort.abort(), onEvent: () => {}, onState: (s) => states.push(s) });
    expect(tokens).toEqual([""]);
    expect(states).toEqual(["connecting", "reconnecting"]);
  });
});
