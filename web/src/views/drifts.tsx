// The runs of an experiment: server-side filter, sort and paging; live through WatchDrifts.
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError, type Api } from "../api";
import type { Drift } from "@gen/drift_monitoring/v1/drift_pb";
import { toCsv } from "../logic/csv";
import { applyEvent, statusName } from "../logic/drifts";
import { buildFilter } from "../logic/filters";
import { ORDERS } from "../logic/route";
import { endedReason, watchDrifts, type WatchState } from "../logic/watch";
import { download, ErrorLine, Link, time, type Nav } from "./common";
import { DriftDetail } from "./detail";
import type { ExperimentRoute } from "./experiment";
import { FilterForm } from "./filterform";

const PAGE = 50;

export function DriftsTab({ api, route, navigate }: { api: Api; route: ExperimentRoute; navigate: Nav }) {
  const [rows, setRows] = useState<Drift[] | null>(null);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const [live, setLive] = useState<WatchState>("connecting");
  const [watchNote, setWatchNote] = useState<{ text: string; ended: boolean } | null>(null);
  const filter = safeFilter(route);
  const shownTime = timeShown(route.order);
  const reloadTimer = useRef<ReturnType<typeof setTimeout>>();

  // Read by the watch callbacks, which outlive a render: the latest filter and order, and which load is newest.
  const view = useRef({ filter, order: route.order, request: 0 });
  view.current.filter = filter;
  view.current.order = route.order;

  const load = async (token = "") => {
    const request = ++view.current.request;
    const { filter, order } = view.current;
    try {
      const reply = await api.drifts.listDrifts({ experimentId: route.id, filter: filter ?? "", orderBy: order, pageSize: PAGE, pageToken: token });
      if (request !== view.current.request) return;  // a newer filter or order was asked for meanwhile
      setRows((old) => (token && old ? [...old, ...reply.drifts] : reply.drifts));
      setNext(reply.nextPageToken);
      setError("");
    } catch (e) {
      setError(describeError(e));
      setRows((old) => old ?? []);
    }
  };

  // The stream follows the experiment only: a new filter or order re-reads the table but keeps watching,
  // so nothing that happens meanwhile is missed.
  useEffect(() => {
    const abort = new AbortController();
    void watchDrifts({
      signal: abort.signal,
      open: (resumeToken, signal) => api.drifts.watchDrifts({ experimentId: route.id, resumeToken }, { signal }),
      onState: (state, err) => {
        setLive(state);
        if (state === "ended" && err) setWatchNote({ text: `Live updates stopped: ${endedReason(err)}.`, ended: true });
      },
      onGap: () => {
        setWatchNote({ text: "Away longer than the server keeps changes: the runs were read again; live from now on.", ended: false });
        void load();
      },
      onEvent: (event) => {
        // Unfiltered, an event is placed in the table as is; the server alone knows whether a run matches
        // a filter, so a filtered table is re-read (at most every half second).
        if (!view.current.filter) setRows((old) => (old ? applyEvent(old, event, view.current.order).rows : old));
        else {
          clearTimeout(reloadTimer.current);
          reloadTimer.current = setTimeout(() => void load(), 500);
        }
      },
    });
    return () => { abort.abort(); clearTimeout(reloadTimer.current); };
  }, [route.id]);

  useEffect(() => {
    setRows(null);
    void load();
  }, [route.id, filter, route.order]);

  return (
    <div class={route.drift ? "split" : ""}>
      <div>
        <FilterForm key={filter} query={route.query} onApply={(query) => navigate({ ...route, query, drift: "" })} />
        <div class="row">
          <label>Sort by{" "}
            <select name="order" value={route.order} onChange={(e) => navigate({ ...route, order: e.currentTarget.value })}>
              {ORDERS.map((order) => <option key={order} value={order}>{order.replace("_", " ").replace(" desc", ", newest first")}</option>)}
            </select>
          </label>
          <span role="status" class={`watch ${live}`} data-testid="live">{live === "live" ? "● live" : live === "ended" ? "stopped" : live}</span>
          <button type="button" disabled={!rows?.length} onClick={() => rows && download(`runs-${route.id}.csv`, new Blob([toCsv(rows)], { type: "text/csv" }))}>
            Export CSV
          </button>
        </div>
        <ErrorLine error={error || (filter === null ? "the filter is malformed" : "")} />
        {watchNote && <p role={watchNote.ended ? "alert" : "status"} class={watchNote.ended ? "error" : "notice"} data-testid="watch-note">{watchNote.text}</p>}
        {rows === null ? <p aria-busy="true">Loading…</p> : rows.length === 0 ? <p>No runs{filter ? " match the filter" : " yet"}.</p> : (
          <div class="scroll">
            <table data-testid="drifts">
              <caption class="sr-only">Runs, {route.order}</caption>
              <thead><tr>
                <th scope="col">{TIME_COLUMNS[shownTime].label}</th><th scope="col">Model</th><th scope="col">Status</th><th scope="col">Tags</th>
                <th scope="col">Concept</th><th scope="col">Data</th><th scope="col">Result</th>
              </tr></thead>
              <tbody>
                {rows.map((drift) => (
                  <tr key={drift.id} class={drift.id === route.drift ? "selected" : ""} data-id={drift.id}>
                    <td><Link to={{ ...route, drift: drift.id }} navigate={navigate}>{time(TIME_COLUMNS[shownTime].of(drift))}</Link></td>
                    <td>{drift.model}</td>
                    <td><span class={`status ${statusName(drift.status).toLowerCase()}`}>{statusName(drift.status).toLowerCase()}</span></td>
                    <td>{drift.tags.join(", ")}</td>
                    <Verdict result={drift.conceptDrift} /><Verdict result={drift.dataDrift} /><Verdict result={drift.result} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {next && <button type="button" onClick={() => void load(next)}>Load more</button>}
      </div>
      {route.drift && (
        <DriftDetail api={api} experimentId={route.id} driftId={route.drift} known={rows?.find((d) => d.id === route.drift)}
          onClose={() => navigate({ ...route, drift: "" })} />
      )}
    </div>
  );
}

function Verdict({ result }: { result?: { detected: boolean } }) {
  if (!result) return <td class="muted">–</td>;
  return <td class={result.detected ? "detected" : "clear"}>{result.detected ? "drift" : "no drift"}</td>;
}

/** The time column shows the time the table is ordered by; when runs started under other orders. */
const TIME_COLUMNS = {
  start_time: { label: "Started", of: (d: Drift) => d.startTime ?? d.createTime },
  create_time: { label: "Created", of: (d: Drift) => d.createTime },
  update_time: { label: "Updated", of: (d: Drift) => d.updateTime },
};

function timeShown(order: string): keyof typeof TIME_COLUMNS {
  const field = order.split(" ")[0];
  return field in TIME_COLUMNS ? (field as keyof typeof TIME_COLUMNS) : "start_time";
}

function safeFilter(route: ExperimentRoute): string | null {
  try {
    return buildFilter(route.query);
  } catch {
    return null;
  }
}
