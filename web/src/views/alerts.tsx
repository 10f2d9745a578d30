// Alerts (docs/alerts.md): EDIT reads an experiment's rules and recent firings; MANAGE makes, changes, tests and deletes rules.
import { useEffect, useState } from "preact/hooks";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { describeError, type Api } from "../api";
import { AccessLevel, type Experiment } from "@gen/drift_monitoring/v1/experiment_pb";
import {
  AlertDeliveryStatus, AlertState, DriftKind,
  type AlertChannel, type AlertCondition, type AlertConditionSchema, type AlertFiring, type AlertRule, type TestAlertRuleResponse,
} from "@gen/drift_monitoring/v1/alert_pb";
import { ErrorLine, time } from "./common";

const CONDITIONS = { drift: "drift detected", failed: "run failed", lost: "run lost", kofn: "k of the last n runs drifted", norun: "no run for a period" };
type ConditionChoice = keyof typeof CONDITIONS;

function span(d: Duration | undefined): string {
  const s = Number(d?.seconds ?? 0);
  return s % 86400 === 0 ? `${s / 86400} d` : s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

/** A rule's condition in words. */
export function conditionText(condition: AlertCondition | undefined): string {
  const c = condition?.kind;
  const of = (kind: DriftKind) => (kind > DriftKind.ANY ? ` (${DriftKind[kind].toLowerCase()})` : "");
  switch (c?.case) {
    case "driftDetected": return `latest run detected drift${of(c.value.kind)}`;
    case "featureDetected": return `latest run detected drift on ${c.value.features.join(", ")}${of(c.value.kind)}`;
    case "kOfN": return `${c.value.k} of the last ${c.value.n} runs drifted${of(c.value.kind)}`;
    case "driftRate": return `≥ ${Math.round(c.value.threshold * 100)}% of runs within ${span(c.value.window)} drifted${of(c.value.kind)}`;
    case "runFailed": return "latest run failed";
    case "runLost": return "latest run was lost";
    case "noRun": return `no run for ${span(c.value.period)}`;
    default: return "unknown";
  }
}

function channelText(channel: AlertChannel | undefined): [string, string] {
  const c = channel?.kind;
  switch (c?.case) {
    case "webhook": return ["webhook", c.value.url];
    case "slack": return ["Slack", c.value.url];
    case "email": return ["email", c.value.to.join(", ")];
    default: return ["none", ""];
  }
}

type Props = { api: Api; experiment: Experiment };

export function AlertsTab({ api, experiment }: Props) {
  const manage = experiment.callerAccess >= AccessLevel.MANAGE;
  const [rules, setRules] = useState<AlertRule[] | null>(null);
  const [firings, setFirings] = useState<AlertFiring[]>([]);
  const [error, setError] = useState("");
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [tested, setTested] = useState<{ name: string; reply: TestAlertRuleResponse } | null>(null);
  const [busy, setBusy] = useState(false);
  const experimentId = experiment.id;

  const load = async () => {
    try {
      const [r, f] = await Promise.all([
        api.alerts.listAlertRules({ experimentId, pageSize: 100 }),
        api.alerts.listAlertFirings({ experimentId, pageSize: 50 }),
      ]);
      setRules(r.rules);
      setFirings(f.firings);
      setError("");
    } catch (e) {
      setError(describeError(e));
    }
  };
  useEffect(() => void load(), [experimentId]);

  /** Runs a change; errors land next to the rules table. */
  const act = async (change: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await change();
      await load();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  const update = (rule: AlertRule, patch: { displayName?: string; disabled?: boolean }, paths: string[]) =>
    act(() => api.alerts.updateAlertRule({ rule: { id: rule.id, experimentId, ...patch }, updateMask: { paths } }));
  const remove = (rule: AlertRule) =>
    confirm(`Delete alert rule "${rule.displayName}"?`) && act(() => api.alerts.deleteAlertRule({ experimentId, ruleId: rule.id }));
  const test = (rule: AlertRule) =>
    act(async () => setTested({ name: rule.displayName, reply: await api.alerts.testAlertRule({ experimentId, ruleId: rule.id }) }));
  const names = new Map(rules?.map((r) => [r.id, r.displayName]));

  return (
    <div class="alerts">
      <ErrorLine error={error} />
      {secret && (
        <div class="notice" role="status" data-testid="secret">
          Signing secret of the webhook of “{secret.name}”: <code>{secret.secret}</code>. Copy it now: it will not be shown again.{" "}
          <button type="button" onClick={() => setSecret(null)}>Done</button>
        </div>
      )}
      <div class="row">
        <h2>Rules</h2>
        <button type="button" disabled={busy} onClick={() => void load()}>Refresh</button>
      </div>
      {rules !== null && rules.length === 0 && <p>No alert rules yet.</p>}
      {rules !== null && rules.length > 0 && (
        <div class="scroll">
          <table data-testid="alert-rules">
            <thead><tr>
              <th scope="col">Name</th><th scope="col">Condition</th><th scope="col">Channel</th><th scope="col">Sends to</th>
              <th scope="col">State</th><th scope="col">Enabled</th>{manage && <th scope="col"><span class="sr-only">Actions</span></th>}
            </tr></thead>
            <tbody>
              {rules.map((rule) => {
                const [kind, target] = channelText(rule.channel);
                return (
                  <tr key={rule.id}>
                    <td>{rule.displayName}{manage && <RuleName rule={rule} busy={busy} onSave={(displayName) => update(rule, { displayName }, ["display_name"])} />}</td>
                    <td class="wrap">{conditionText(rule.condition)}{rule.filter && <> · runs matching <code>{rule.filter}</code></>}</td>
                    <td>{kind}</td>
                    <td class="wrap"><code>{target}</code></td>
                    <td class={`alert-state ${AlertState[rule.state]?.toLowerCase()}`}>{rule.state ? AlertState[rule.state].toLowerCase() : ""}</td>
                    <td>{manage
                      ? <label class="inline"><input type="checkbox" aria-label={`enabled ${rule.displayName}`} checked={!rule.disabled} disabled={busy}
                          onChange={(e) => void update(rule, { disabled: !e.currentTarget.checked }, ["disabled"])} />{rule.disabled ? "disabled" : "enabled"}</label>
                      : rule.disabled ? "disabled" : "enabled"}</td>
                    {manage && (
                      <td>
                        <button type="button" disabled={busy} aria-label={`send a test of ${rule.displayName}`} onClick={() => void test(rule)}>Send test</button>{" "}
                        <button type="button" class="danger" disabled={busy} aria-label={`delete ${rule.displayName}`} onClick={() => void remove(rule)}>Delete</button>
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {tested && (
        <p class={tested.reply.delivered ? "notice" : "error"} role="status" data-testid="test-result">
          Test of “{tested.name}”: {tested.reply.delivered ? "delivered" : "not delivered"}
          {tested.reply.statusCode ? ` (status ${tested.reply.statusCode})` : ""}{tested.reply.detail && `: ${tested.reply.detail}`}
          {tested.reply.deliveryId && <> · delivery id <code>{tested.reply.deliveryId}</code></>}
        </p>
      )}
      {manage && <CreateRule api={api} experimentId={experimentId} onCreated={(rule) => {
        const channel = rule.channel?.kind;
        setSecret(channel?.case === "webhook" && channel.value.secret ? { name: rule.displayName, secret: channel.value.secret } : null);
        void load();
      }} />}
      <h2>Recent firings</h2>
      {firings.length === 0 ? <p>Nothing fired yet.</p> : (
        <div class="scroll">
          <table data-testid="alert-firings">
            <thead><tr>
              <th scope="col">When</th><th scope="col">Rule</th><th scope="col">What</th><th scope="col">Summary</th>
              <th scope="col">Delivery</th><th scope="col">Last attempt</th>
            </tr></thead>
            <tbody>
              {firings.map((firing) => {
                const last = firing.attempts[firing.attempts.length - 1];
                const status = AlertDeliveryStatus[firing.deliveryStatus]?.toLowerCase() ?? "";
                return (
                  <tr key={firing.id}>
                    <td>{time(firing.createTime)}</td>
                    <td>{names.get(firing.ruleId) ?? firing.ruleId}</td>
                    <td>{firing.kind.toLowerCase()}{Object.entries(firing.labels).map(([k, v]) => ` ${k}=${v}`).join("")}</td>
                    <td class="wrap">{firing.summary}</td>
                    <td class={`delivery ${status}`}>
                      {status}{firing.deliveryStatus === AlertDeliveryStatus.DELIVERED && firing.deliverTime && ` ${time(firing.deliverTime)}`}
                      {` · ${firing.attempts.length} attempt${firing.attempts.length === 1 ? "" : "s"}`}
                    </td>
                    <td class="wrap">{last ? `${time(last.time)} ${last.statusCode ? `status ${last.statusCode}` : "no answer"}${last.detail ? `: ${last.detail}` : ""}` : "—"}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Renaming a rule (UpdateAlertRule with the mask ["display_name"]). */
function RuleName({ rule, busy, onSave }: { rule: AlertRule; busy: boolean; onSave: (name: string) => void }) {
  const [name, setName] = useState(rule.displayName);
  return (
    <details class="rename">
      <summary aria-label={`rename ${rule.displayName}`}>Rename</summary>
      <form class="inline-form" aria-label={`rename ${rule.displayName}`} onSubmit={(e) => { e.preventDefault(); onSave(name.trim()); }}>
        <input aria-label={`new name for ${rule.displayName}`} required maxLength={128} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" disabled={busy}>Save name</button>
      </form>
    </details>
  );
}

function CreateRule({ api, experimentId, onCreated }: { api: Api; experimentId: string; onCreated: (rule: AlertRule) => void }) {
  const [name, setName] = useState("");
  const [choice, setChoice] = useState<ConditionChoice>("drift");
  const [k, setK] = useState(2);
  const [n, setN] = useState(3);
  const [hours, setHours] = useState(25);
  const [via, setVia] = useState<"webhook" | "email">("webhook");
  const [target, setTarget] = useState("");
  const [filter, setFilter] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const condition = (): MessageInitShape<typeof AlertConditionSchema> => {
    switch (choice) {
      case "drift": return { kind: { case: "driftDetected", value: { kind: DriftKind.ANY } } };
      case "failed": return { kind: { case: "runFailed", value: {} } };
      case "lost": return { kind: { case: "runLost", value: {} } };
      case "kofn": return { kind: { case: "kOfN", value: { k, n, kind: DriftKind.ANY } } };
      case "norun": return { kind: { case: "noRun", value: { period: { seconds: BigInt(Math.round(hours * 3600)) } } } };
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const channel = via === "webhook"
        ? { kind: { case: "webhook" as const, value: { url: target.trim() } } }
        : { kind: { case: "email" as const, value: { to: target.split(",").map((a) => a.trim()).filter(Boolean) } } };
      const rule = await api.alerts.createAlertRule({
        experimentId, rule: { experimentId, displayName: name.trim(), condition: condition(), channel, filter: filter.trim() },
      });
      setError("");
      setName("");
      setTarget("");
      setFilter("");
      onCreated(rule);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="create">
      <summary>New alert rule</summary>
      <form onSubmit={submit} aria-label="new alert rule">
        <label>Rule name <input name="display_name" required maxLength={128} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
        <label>Condition{" "}
          <select name="condition" value={choice} onChange={(e) => setChoice(e.currentTarget.value as ConditionChoice)}>
            {Object.entries(CONDITIONS).map(([value, text]) => <option key={value} value={value}>{text}</option>)}
          </select>
        </label>
        {choice === "kofn" && (
          <div class="row">
            <label>k <input name="k" type="number" min={1} max={1000} required value={k} onInput={(e) => setK(Number(e.currentTarget.value))} /></label>
            <label>n <input name="n" type="number" min={1} max={1000} required value={n} onInput={(e) => setN(Number(e.currentTarget.value))} /></label>
          </div>
        )}
        {choice === "norun" && (
          <label>Period (hours) <input name="period" type="number" min={0.02} max={720} step="any" required value={hours} onInput={(e) => setHours(Number(e.currentTarget.value))} /></label>
        )}
        <label>Channel{" "}
          <select name="channel" value={via} onChange={(e) => setVia(e.currentTarget.value as "webhook" | "email")}>
            <option value="webhook">webhook (signed JSON POST)</option>
            <option value="email">email</option>
          </select>
        </label>
        <label>{via === "webhook" ? "Webhook URL" : "Email addresses (comma-separated)"}{" "}
          <input name="target" required type={via === "webhook" ? "url" : "text"} value={target}
            placeholder={via === "webhook" ? "https://hooks.example.org/drift" : "team@example.org"} onInput={(e) => setTarget(e.currentTarget.value)} />
        </label>
        <label>Only runs matching (optional filter) <input name="filter" maxLength={1024} value={filter} placeholder={'model = "churn" AND tags:nightly'}
          onInput={(e) => setFilter(e.currentTarget.value)} /></label>
        <button type="submit" disabled={busy}>Create rule</button>
        <ErrorLine error={error} />
      </form>
    </details>
  );
}
