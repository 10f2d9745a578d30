// One experiment: its runs (live), charts, alerts (EDIT) and sharing (MANAGE), as tabs whose state lives in the URL.
import { useEffect, useState } from "preact/hooks";
import { EditExperiment } from "./edit";
import { describeError, type Api } from "../api";
import { AccessLevel, type Experiment } from "@gen/drift_monitoring/v1/experiment_pb";
import type { User } from "@gen/drift_monitoring/v1/user_pb";
import { TABS, type Route, type Tab } from "../logic/route";
import { AlertsTab } from "./alerts";
import { ChartTab } from "./chart";
import { ErrorLine, Link, levelName, type Nav } from "./common";
import { DriftsTab } from "./drifts";
import { SharingTab } from "./sharing";

export type ExperimentRoute = Extract<Route, { page: "experiment" }>;
type Props = { api: Api; route: ExperimentRoute; navigate: Nav; user: User | null };
const LABELS: Record<Tab, string> = { drifts: "Runs", chart: "Charts", alerts: "Alerts", sharing: "Sharing" };

export function ExperimentPage({ api, route, navigate, user }: Props) {
  const [experiment, setExperiment] = useState<Experiment | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    api.experiments.getExperiment({ experimentId: route.id }).then(setExperiment).catch((e) => setError(describeError(e)));
  }, [route.id, user?.id]);

  if (error) return <><ErrorLine error={error} /><Link to={{ page: "experiments", search: "" }} navigate={navigate}>All experiments</Link></>;
  if (!experiment) return <p aria-busy="true">Loading…</p>;
  const manage = experiment.callerAccess >= AccessLevel.MANAGE;
  const edit = experiment.callerAccess >= AccessLevel.EDIT;
  const shown = (tab: Tab) => (tab === "sharing" ? manage : tab === "alerts" ? edit : true);
  return (
    <section aria-labelledby="experiment-title">
      <p class="crumbs"><Link to={{ page: "experiments", search: "" }} navigate={navigate}>Experiments</Link> /</p>
      <h1 id="experiment-title">{experiment.name}</h1>
      <p class="meta">
        {experiment.public ? "public" : "private"} · your access: {levelName(experiment.callerAccess)}
        {experiment.description && <> · {experiment.description}</>}
      </p>
      {edit && <EditExperiment api={api} experiment={experiment} onChange={setExperiment} />}
      <nav class="tabs" aria-label="experiment views">
        {TABS.filter(shown).map((tab) => (
          <Link key={tab} to={{ ...route, tab, drift: "" }} navigate={navigate} class={tab === route.tab ? "tab current" : "tab"}
            aria-current={tab === route.tab ? "page" : undefined}>
            {LABELS[tab]}
          </Link>
        ))}
      </nav>
      {route.tab === "drifts" && <DriftsTab api={api} route={route} navigate={navigate} />}
      {route.tab === "chart" && <ChartTab api={api} route={route} navigate={navigate} experiment={experiment} />}
      {route.tab === "alerts" && (edit
        ? <AlertsTab api={api} experiment={experiment} />
        : <p>Only editors and managers of this experiment see its alerts.</p>)}
      {route.tab === "sharing" && (manage
        ? <SharingTab api={api} experiment={experiment} onChange={setExperiment} user={user} />
        : <p>Only managers of this experiment see its sharing.</p>)}
    </section>
  );
}
