// One experiment: its runs (live), charts and sharing, as tabs whose state lives in the URL.
import { useEffect, useState } from "preact/hooks";
import { EditExperiment } from "./edit";
import { describeError, type Api } from "../api";
import { AccessLevel, type Experiment } from "@gen/drift_monitoring/v1/experiment_pb";
import type { User } from "@gen/drift_monitoring/v1/user_pb";
import { TABS, type Route } from "../logic/route";
import { ChartTab } from "./chart";
import { ErrorLine, Link, levelName, type Nav } from "./common";
import { DriftsTab } from "./drifts";
import { SharingTab } from "./sharing";

export type ExperimentRoute = Extract<Route, { page: "experiment" }>;
type Props = { api: Api; route: ExperimentRoute; navigate: Nav; user: User | null };

export function ExperimentPage({ api, route, navigate, user }: Props) {
  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    api.experiments.getExperiment({ experimentId: route.id }).then(setExperiment).catch((e) => setError(describeError(e)));
  }, [route.id, user?.id]);

  if (error) return <><ErrorLine error={error} /><Link to={{ page: "experiments", search: "" }} navigate={navigate}>All experiments</Link></>;
  if (!experiment) return <p aria-busy="true">Loading…</p>;
  const manage = experiment.callerAccess >= AccessLevel.MANAGE;
  return (
    <section aria-labelledby="experiment-title">
      <p class="crumbs"><Link to={{ page: "experiments", search: "" }} navigate={navigate}>Experiments</Link> /</p>
      <h1 id="experiment-title">{experiment.name}</h1>
      <p class="meta">
        {experiment.public ? "public" : "private"} · your access: {levelName(experiment.callerAccess)}
        {experiment.description && <> · {experiment.description}</>}
      </p>
      {experiment.callerAccess >= AccessLevel.EDIT && <EditExperiment api={api} experiment={experiment} onChange={setExperiment} />}
      <nav class="tabs" aria-label="experiment views">
        {TABS.filter((tab) => tab !== "sharing" || manage).map((tab) => (
          <Link key={tab} to={{ ...route, tab, drift: "" }} navigate={navigate} class={tab === route.tab ? "tab current" : "tab"}
            aria-current={tab === route.tab ? "page" : undefined}>
            {tab === "drifts" ? "Runs" : tab === "chart" ? "Charts" : "Sharing"}
          </Link>
        ))}
      </nav>
      {route.tab === "drifts" && <DriftsTab api={api} route={route} navigate={navigate} />}
      {route.tab === "chart" && <ChartTab api={api} route={route} navigate={navigate} experiment={experiment} />}
      {route.tab === "sharing" && (manage
        ? <SharingTab api={api} experiment={experiment} onChange={setExperiment} user={user} />
        : <p>Only managers of this experiment see its sharing.</p>)}
    </section>
  );
}
