// All experiments the caller may read: search by name, create, delete (MANAGE only).
import { useEffect, useState } from "preact/hooks";
import { describeError, type Api } from "../api";
import { AccessLevel, type Experiment } from "@gen/drift_monitoring/v1/experiment_pb";
import { quote } from "../logic/filters";
import { experimentRoute, type Route, type Visibility } from "../logic/route";
import { ErrorLine, Link, levelName, time, type Nav } from "./common";

type Props = { api: Api; route: Extract<Route, { page: "experiments" }>; navigate: Nav; signedIn: boolean; registered: boolean };

export function ExperimentsPage({ api, route, navigate, signedIn, registered }: Props) {
  const [items, setItems] = useState<Experiment[] | null>(null);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const [search, setSearch] = useState(route.search);
  const [reload, setReload] = useState(0);

  const [visibility, setVisibility] = useState(route.visibility ?? "");
  const filter = [
    route.search.trim() ? `name = ${quote(route.search.trim() + "*", true)}` : "",
    route.visibility ? `public = ${route.visibility === "public"}` : "",
  ].filter(Boolean).join(" AND ");
  const load = async (token = "") => {
    try {
      const reply = await api.experiments.listExperiments({ filter, pageToken: token, pageSize: 50 });
      setItems((old) => (token && old ? [...old, ...reply.experiments] : reply.experiments));
      setNext(reply.nextPageToken);
      setError("");
    } catch (e) {
      setError(describeError(e));
      setItems([]);
    }
  };
  useEffect(() => { void load(); }, [filter, signedIn, reload]);

  const remove = async (experiment: Experiment) => {
    if (!confirm(`Delete experiment "${experiment.name}" and all its runs?`)) return;
    try {
      await api.experiments.deleteExperiment({ experimentId: experiment.id });
      setReload((n) => n + 1);
    } catch (e) {
      setError(describeError(e));
    }
  };

  return (
    <section aria-labelledby="experiments-title">
      <h1 id="experiments-title">Experiments</h1>
      <form class="row" role="search" onSubmit={(e) => { e.preventDefault(); navigate({ page: "experiments", search, visibility: visibility || undefined }, true); }}>
        <label>Search by name <input type="search" name="q" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="name starts with…" /></label>
        <label>Visibility{" "}
          <select name="visibility" value={visibility} onChange={(e) => setVisibility(e.currentTarget.value as Visibility)}>
            <option value="">all</option><option value="public">public</option><option value="private">private</option>
          </select>
        </label>
        <button type="submit">Search</button>
      </form>
      {signedIn && registered && <CreateExperiment api={api} onCreated={(e) => navigate(experimentRoute(e.id))} />}
      {!signedIn && <p class="hint">Showing public experiments. Sign in to see the ones shared with you.</p>}
      <ErrorLine error={error} />
      {items === null ? <p aria-busy="true">Loading…</p> : items.length === 0 ? <p>No experiments{filter ? " match" : " yet"}.</p> : (
        <div class="scroll">
          <table data-testid="experiments">
            <thead><tr><th scope="col">Name</th><th scope="col">Description</th><th scope="col">Visibility</th><th scope="col">Your access</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {items.map((experiment) => (
                <tr key={experiment.id}>
                  <td><Link to={experimentRoute(experiment.id)} navigate={navigate}>{experiment.name}</Link></td>
                  <td class="wrap">{experiment.description}</td>
                  <td>{experiment.public ? "public" : "private"}</td>
                  <td>{levelName(experiment.callerAccess)}</td>
                  <td>{time(experiment.createTime)}</td>
                  <td>{experiment.callerAccess === AccessLevel.MANAGE && (
                    <button type="button" class="danger" aria-label={`Delete ${experiment.name}`} onClick={() => void remove(experiment)}>Delete</button>
                  )}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && <button type="button" onClick={() => void load(next)}>Load more</button>}
    </section>
  );
}

function CreateExperiment({ api, onCreated }: { api: Api; onCreated: (experiment: Experiment) => void }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [isPublic, setPublic] = useState(false);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      onCreated(await api.experiments.createExperiment({ experiment: { name: name.trim(), description, public: isPublic } }));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="create">
      <summary>New experiment</summary>
      <form onSubmit={submit} aria-label="new experiment">
        <label>Name <input name="name" required maxLength={128} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label>Description <textarea name="description" maxLength={4096} value={description} onInput={(e) => setDescription(e.currentTarget.value)} /></label>
        <label class="inline"><input type="checkbox" name="public" checked={isPublic} onChange={(e) => setPublic(e.currentTarget.checked)} /> Public (anyone can read)</label>
        <button type="submit" disabled={busy}>Create</button>
        <ErrorLine error={error} />
      </form>
    </details>
  );
}
