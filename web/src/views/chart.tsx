// Charts over the filtered runs: any parameter over time or against another, and the drift rate per day.
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError, type Api } from "../api";
import type { Drift } from "@gen/drift_monitoring/v1/drift_pb";
import type { Experiment } from "@gen/drift_monitoring/v1/experiment_pb";
import { toCsv } from "../logic/csv";
import { buildFilter } from "../logic/filters";
import { chartPaths, driftRatePerDay, informativePath, isTime, series, TIMES } from "../logic/params";
import { download, ErrorLine, type Nav } from "./common";
import type { ExperimentRoute } from "./experiment";
import { FilterForm } from "./filterform";
import { axisName, drawRate, drawScatter } from "./plot";

/** The server's largest page: charts show the newest 1000 runs that match. */
const LIMIT = 1000;

export function ChartTab({ api, route, navigate, experiment }: { api: Api; route: ExperimentRoute; navigate: Nav; experiment: Experiment }) {
  const [drifts, setDrifts] = useState<Drift[] | null>(null);
  const [error, setError] = useState("");
  const scatter = useRef<HTMLCanvasElement>(null);
  const rate = useRef<HTMLCanvasElement>(null);
  let filter = "";
  try { filter = buildFilter(route.query); } catch { /* shown by the form */ }

  useEffect(() => {
    setDrifts(null);
    api.drifts.listDrifts({ experimentId: route.id, filter, pageSize: LIMIT })
      .then((reply) => setDrifts(reply.drifts))
      .catch((e) => { setError(describeError(e)); setDrifts([]); });
  }, [route.id, filter]);

  const paths = drifts ? chartPaths(drifts) : [];
  // Unless the URL says otherwise: something that changes from run to run, against when the runs ran.
  const y = route.y && paths.includes(route.y) ? route.y : drifts ? informativePath(drifts, paths) : "";
  const x = isTime(route.x) || paths.includes(route.x) ? route.x : "start_time";
  const points = drifts && y ? series(drifts, x, y) : [];

  useEffect(() => {
    if (!drifts) return;
    // Where the axis labels went, for the browser tests (canvas text is not in the DOM).
    if (scatter.current && y) scatter.current.dataset.xLabels = JSON.stringify(drawScatter(scatter.current, points, x, y));
    if (rate.current) rate.current.dataset.xLabels = JSON.stringify(drawRate(rate.current, driftRatePerDay(drifts)));
  });

  const png = (canvas: HTMLCanvasElement | null, name: string) =>
    canvas?.toBlob((blob) => blob && download(`${experiment.name}-${name}.png`, blob), "image/png");

  return (
    <div>
      <FilterForm key={filter} query={route.query} onApply={(query) => navigate({ ...route, query })} />
      <ErrorLine error={error} />
      {drifts === null ? <p aria-busy="true">Loading…</p> : (
        <>
          <p class="hint">{drifts.length} runs{drifts.length === LIMIT ? " (the newest 1000)" : ""}; {points.length} with {y || "a numeric parameter"}.</p>
          {paths.length === 0 ? <p>No numeric parameters in these runs to chart.</p> : (
            <figure>
              <div class="row">
                <label>Y{" "}
                  <select name="y" value={y} onChange={(e) => navigate({ ...route, y: e.currentTarget.value }, true)}>
                    {paths.map((p) => <option key={p} value={p}>{p}</option>)}
                  </select>
                </label>
                <label>X{" "}
                  <select name="x" value={x} onChange={(e) => navigate({ ...route, x: e.currentTarget.value }, true)}>
                    {TIMES.map((t) => <option key={t} value={t}>{axisName(t)}</option>)}
                    {paths.map((p) => <option key={p} value={p}>{p}</option>)}
                  </select>
                </label>
                <button type="button" onClick={() => png(scatter.current, "parameters")}>Export PNG</button>
                <button type="button" onClick={() => download(`${experiment.name}-runs.csv`, new Blob([toCsv(drifts)], { type: "text/csv" }))}>Export CSV</button>
              </div>
              <canvas ref={scatter} width={900} height={360} role="img" data-testid="scatter" aria-label={`${y} against ${x}: ${points.length} runs`} />
            </figure>
          )}
          <figure>
            <div class="row"><button type="button" onClick={() => png(rate.current, "drift-rate")}>Export drift rate PNG</button></div>
            <canvas ref={rate} width={900} height={240} role="img" data-testid="rate" aria-label="drift rate per day" />
          </figure>
        </>
      )}
    </div>
  );
}
