// Sharing (MANAGE only): the public flag and grants to users (by User.id) or entitlements (groups).
import { useState } from "preact/hooks";
import { describeError, type Api } from "../api";
import { AccessLevel, type Experiment, type Grant } from "@gen/drift_monitoring/v1/experiment_pb";
import type { User } from "@gen/drift_monitoring/v1/user_pb";
import { ErrorLine, levelName } from "./common";

const LEVELS = [AccessLevel.READ, AccessLevel.EDIT, AccessLevel.MANAGE];
type Props = { api: Api; experiment: Experiment; onChange: (experiment: Experiment) => void; user: User | null };

export function SharingTab({ api, experiment, onChange, user }: Props) {
  const [error, setError] = useState("");
  const [entity, setEntity] = useState("");
  const [level, setLevel] = useState(AccessLevel.READ);
  const [busy, setBusy] = useState(false);

  const update = async (patch: { public?: boolean; grants?: { entity: string; level: AccessLevel }[] }, paths: string[]) => {
    setBusy(true);
    try {
      onChange(await api.experiments.updateExperiment({ experiment: { id: experiment.id, ...patch }, updateMask: { paths } }));
      setError("");
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const grants = (list: Grant[]) => list.map(({ entity, level }) => ({ entity, level }));
  const setGrant = (target: string, to: AccessLevel | null) =>
    update({ grants: grants(experiment.grants).flatMap((g) => (g.entity !== target ? [g] : to === null ? [] : [{ entity: target, level: to }])) }, ["grants"]);

  const add = async (e: Event) => {
    e.preventDefault();
    const name = entity.trim();
    const others = grants(experiment.grants).filter((g) => g.entity !== name);
    if (await update({ grants: [...others, { entity: name, level }] }, ["grants"])) setEntity("");
  };

  return (
    <div class="sharing">
      <ErrorLine error={error} />
      <label class="inline">
        <input type="checkbox" name="public" checked={experiment.public} disabled={busy} onChange={(e) => void update({ public: e.currentTarget.checked }, ["public"])} />
        Public: anyone, signed in or not, can read this experiment
      </label>
      <p class="hint">Owner: <code>{experiment.owner}</code>{experiment.owner === user?.id && " (you)"} — always manages it.</p>
      <h2>Grants</h2>
      {experiment.grants.length === 0 ? <p>No grants: only you{experiment.public ? " (and readers of public experiments)" : ""} and administrators.</p> : (
        <table data-testid="grants">
          <thead><tr><th scope="col">User id or entitlement</th><th scope="col">Level</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {experiment.grants.map((grant) => (
              <tr key={grant.entity}>
                <td><code>{grant.entity}</code>{grant.entity === user?.id && " (you)"}</td>
                <td>
                  <select aria-label={`level for ${grant.entity}`} value={grant.level} disabled={busy} onChange={(e) => void setGrant(grant.entity, Number(e.currentTarget.value))}>
                    {LEVELS.map((l) => <option key={l} value={l}>{levelName(l)}</option>)}
                  </select>
                </td>
                <td><button type="button" class="danger" disabled={busy} aria-label={`remove ${grant.entity}`} onClick={() => void setGrant(grant.entity, null)}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="row" aria-label="add a grant" onSubmit={add}>
        <label>User id or entitlement{" "}
          <input name="entity" required value={entity} list="known-entities" placeholder="a user's id (they see it under their name) or urn:…" onInput={(e) => setEntity(e.currentTarget.value)} />
        </label>
        <datalist id="known-entities">{user?.entitlements.map((ent) => <option key={ent} value={ent} />)}</datalist>
        <label>Level{" "}
          <select name="level" value={level} onChange={(e) => setLevel(Number(e.currentTarget.value))}>
            {LEVELS.map((l) => <option key={l} value={l}>{levelName(l)}</option>)}
          </select>
        </label>
        <button type="submit" disabled={busy}>Add grant</button>
      </form>
    </div>
  );
}
