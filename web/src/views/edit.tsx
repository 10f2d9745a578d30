// Renaming (MANAGE) and describing (EDIT) an experiment.
import { useState } from "preact/hooks";
import { describeError, type Api } from "../api";
import { AccessLevel, type Experiment } from "@gen/drift_monitoring/v1/experiment_pb";
import { ErrorLine } from "./common";

type Props = { api: Api; experiment: Experiment; onChange: (experiment: Experiment) => void };

export function EditExperiment({ api, experiment, onChange }: Props) {
  const manage = experiment.callerAccess >= AccessLevel.MANAGE;
  const [name, setName] = useState(experiment.name);
  const [description, setDescription] = useState(experiment.description);
  const [error, setError] = useState("");
  const [open, setOpen] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    // Only what changed, and only what this caller may change: the mask says which.
    const paths = [...(manage && name.trim() !== experiment.name ? ["name"] : []), ...(description !== experiment.description ? ["description"] : [])];
    if (!paths.length) return setOpen(false);
    try {
      onChange(await api.experiments.updateExperiment({ experiment: { id: experiment.id, name: name.trim(), description }, updateMask: { paths } }));
      setError("");
      setOpen(false);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <details class="create" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Edit {manage ? "name and description" : "description"}</summary>
      <form onSubmit={submit} aria-label="edit the experiment">
        {manage && <label>Name <input name="name" required maxLength={128} value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>}
        <label>Description <textarea name="description" maxLength={4096} value={description} onInput={(e) => setDescription(e.currentTarget.value)} /></label>
        <button type="submit">Save</button>
        <ErrorLine error={error} />
      </form>
    </details>
  );
}
