// Sharing (MANAGE only): the public flag and grants to users (by User.id) or entitlements (groups).
import { useEffect, useState } from "preact/hooks";
import { describeError, type Api } from "../api";
import { AccessLevel, type Experiment, type Grant } from "@gen/drift_monitoring/v1/experiment_pb";
import type { User } from "@gen/drift_monitoring/v1/user_pb";
import type { AuditEvent } from "@gen/drift_monitoring/v1/audit_pb";
import type { JsonObject } from "@bufbuild/protobuf";
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
      <History api={api} experiment={experiment} />
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

const HISTORY = 20;

/** The experiment's audit trail, newest first (MANAGE and admins may read it): who changed what, when. */
function History({ api, experiment }: { api: Api; experiment: Experiment }) {
  const [entries, setEntries] = useState<AuditEvent[] | null>(null);
  const [error, setError] = useState("");
  // Re-read after every change of the experiment (its update_time moves with each one).
  const changed = experiment.updateTime ? `${experiment.updateTime.seconds}.${experiment.updateTime.nanos}` : "";
  useEffect(() => {
    let live = true;
    api.audit.listAuditEvents({ experimentId: experiment.id, pageSize: HISTORY })
      .then((reply) => live && (setEntries(reply.auditEvents), setError("")))
      .catch((e) => live && setError(describeError(e)));
    return () => { live = false; };
  }, [api, experiment.id, changed]);
  return (
    <section aria-label="history">
      <h2>History</h2>
      <ErrorLine error={error} />
      {entries !== null && entries.length === 0 && <p>No recorded changes yet.</p>}
      {entries !== null && entries.length > 0 && (
        <table data-testid="audit">
          <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>{entry.time ? new Date(Number(entry.time.seconds) * 1000).toISOString().replace(".000Z", "Z") : ""}</td>
                <td>{entry.actorName || entry.actorId}{entry.adminOverride && " (admin)"}</td>
                <td><code>{entry.action}</code>{entry.target && <> <code>{entry.target}</code></>}</td>
                <td><Values values={entry.before} /></td>
                <td><Values values={entry.after} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Values({ values }: { values?: JsonObject }) {
  return values ? <code class="audit-values">{JSON.stringify(values)}</code> : <span>—</span>;
}
