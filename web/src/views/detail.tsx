// One run: its timing, parameters and per-feature test results.
import { useEffect, useState } from "preact/hooks";
import { describeError, type Api } from "../api";
import type { Drift } from "@gen/drift_monitoring/v1/drift_pb";
import { statusName } from "../logic/drifts";
import { byStatistic, flatten, section, SECTIONS } from "../logic/params";
import { ErrorLine, time } from "./common";

type Props = { api: Api; experimentId: string; driftId: string; known?: Drift; onClose: () => void };

export function DriftDetail({ api, experimentId, driftId, known, onClose }: Props) {
  const [fetched, setFetched] = useState<Drift | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    if (known) return;
    api.drifts.getDrift({ experimentId, driftId }).then(setFetched).catch((e) => setError(describeError(e)));
  }, [driftId, !!known]);
  const drift = known ?? fetched;

  return (
    <aside class="detail" aria-labelledby="detail-title">
      <div class="row"><h2 id="detail-title">Run {driftId.slice(0, 8)}</h2><button type="button" onClick={onClose} aria-label="close the run">Close</button></div>
      <ErrorLine error={error} />
      {drift && (
        <>
          <dl>
            <dt>Model</dt><dd>{drift.model}</dd>
            <dt>Status</dt><dd><span class={`status ${statusName(drift.status).toLowerCase()}`}>{statusName(drift.status).toLowerCase()}</span></dd>
            {drift.statusReason && <><dt>Why</dt><dd class="wrap" data-testid="status-reason">{drift.statusReason}</dd></>}
            <dt>Tags</dt><dd>{drift.tags.join(", ") || "–"}</dd>
            <dt>Started</dt><dd>{time(drift.startTime)}</dd>
            <dt>Ended</dt><dd>{time(drift.endTime) || "–"}</dd>
            {drift.errorMessage && <><dt>Error</dt><dd class="wrap">{drift.errorMessage}</dd></>}
          </dl>
          {SECTIONS.map((name) => {
            const result = section(drift, name);
            if (!result) return null;
            const params = result.parameters ? flatten(result.parameters, "") : [];
            return (
              <section key={name} aria-label={name.replace("_", " ")}>
                <h3>{name.replace("_", " ")}: <span class={result.detected ? "detected" : "clear"}>{result.detected ? "drift detected" : "no drift"}</span></h3>
                {params.length > 0 && (
                  <table class="compact"><caption>Parameters</caption><tbody>
                    {params.map(([path, value]) => <tr key={path}><th scope="row">{path.slice(1)}</th><td>{JSON.stringify(value)}</td></tr>)}
                  </tbody></table>
                )}
                {result.features.length > 0 && (
                  <table class="compact"><caption>Features</caption>
                    <thead><tr><th scope="col">Feature</th><th scope="col">Test</th><th scope="col" aria-sort="descending">Statistic ▼</th><th scope="col">p-value</th><th scope="col">Threshold</th><th scope="col">Drift</th></tr></thead>
                    <tbody>{byStatistic(result.features).map((f) => (
                      <tr key={f.feature + f.test}><td>{f.feature}</td><td>{f.test}</td><td>{f.statistic.toPrecision(4)}</td>
                        <td>{f.pValue?.toPrecision(3) ?? "–"}</td><td>{f.threshold ?? "–"}</td><td class={f.detected ? "detected" : "clear"}>{f.detected ? "yes" : "no"}</td></tr>
                    ))}</tbody>
                  </table>
                )}
              </section>
            );
          })}
        </>
      )}
    </aside>
  );
}
