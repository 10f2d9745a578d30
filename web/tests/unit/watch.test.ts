import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DriftEventType, type WatchDriftsResponse } from "../../src/gen/drift_monitoring/v1/drift_pb";
import { watchDrifts, type WatchState } from "../../src/logic/watch";
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

  it("starts over from the present, after a reload, when the token is too old", async () => {
    const { open, tokens } = server([
      { events: [event(DriftEventType.CREATED, drift("a", "2026-11-01T00:00:00Z"), "t1")], error: new ConnectError("gone", Code.OutOfRange) },
    ]);
    let gaps = 0;
    await watchDrifts({ open, signal: new AbortController().signal, sleep: async () => {}, onEvent: () => {}, onState: () => {}, onGap: () => gaps++ });
    expect(tokens).toEqual(["", ""]);
    expect(gaps).toBe(1);
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
