// Friendly filter controls (status, model, tags, dates) plus the raw filter language, all in the URL.
import { useState } from "preact/hooks";
import { buildFilter, EMPTY_QUERY, STATUSES, type DriftQuery, type Status } from "../logic/filters";

export function FilterForm({ query, onApply }: { query: DriftQuery; onApply: (query: DriftQuery) => void }) {
  const [draft, setDraft] = useState<DriftQuery>(query);
  const [tags, setTags] = useState(query.tags.join(", "));
  const [error, setError] = useState("");
  const set = (patch: Partial<DriftQuery>) => setDraft({ ...draft, ...patch });
  const toggle = (status: Status, on: boolean) => set({ status: on ? [...draft.status, status] : draft.status.filter((s) => s !== status) });

  const submit = (e: Event) => {
    e.preventDefault();
    const next = { ...draft, tags: tags.split(",").map((t) => t.trim()).filter(Boolean) };
    try {
      buildFilter(next);
      setError("");
      onApply(next);
    } catch (err) {
      setError(String(err instanceof Error ? err.message : err));
    }
  };

  return (
    <form class="filters" aria-label="filter runs" onSubmit={submit}>
      <fieldset>
        <legend>Status</legend>
        {STATUSES.map((status) => (
          <label key={status} class="inline">
            <input type="checkbox" name="status" value={status} checked={draft.status.includes(status)} onChange={(e) => toggle(status, e.currentTarget.checked)} />
            {status.toLowerCase()}
          </label>
        ))}
      </fieldset>
      <label>Model <input name="model" value={draft.model} placeholder="xgb* for a prefix" onInput={(e) => set({ model: e.currentTarget.value })} /></label>
      <label>Tags <input name="tags" value={tags} placeholder="comma-separated, all must match" onInput={(e) => setTags(e.currentTarget.value)} /></label>
      <label>From <input type="date" name="from" value={draft.from} onInput={(e) => set({ from: e.currentTarget.value })} /></label>
      <label>To <input type="date" name="to" value={draft.to} onInput={(e) => set({ to: e.currentTarget.value })} /></label>
      <label class="wide">Filter <input name="filter" value={draft.text} placeholder="e.g. data_drift.parameters.drifted_features > 2" onInput={(e) => set({ text: e.currentTarget.value })} /></label>
      <div class="buttons">
        <button type="submit">Apply</button>
        <button type="button" onClick={() => { setDraft(EMPTY_QUERY); setTags(""); onApply(EMPTY_QUERY); }}>Clear</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}
