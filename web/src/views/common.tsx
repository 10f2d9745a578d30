// Small pieces shared by the pages.
import type { ComponentChildren } from "preact";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { formatRoute, type Route } from "../logic/route";
import { millis } from "../logic/drifts";
import { AccessLevel } from "@gen/drift_monitoring/v1/experiment_pb";

export type Nav = (route: Route, replace?: boolean) => void;

/** A real link (open in a new tab works) that navigates in place on a plain click. */
type LinkProps = { to: Route; navigate: Nav; children: ComponentChildren; class?: string; "aria-current"?: "page" };

export function Link({ to, navigate, children, ...rest }: LinkProps) {
  return (
    <a {...rest} href={formatRoute(to)} onClick={(e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      navigate(to);
    }}>{children}</a>
  );
}

export function time(ts: Timestamp | undefined): string {
  const ms = millis(ts);
  return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "";
}

export function levelName(level: AccessLevel): string {
  return level === AccessLevel.UNSPECIFIED ? "none" : AccessLevel[level].toLowerCase();
}

export function ErrorLine({ error }: { error: string }) {
  return error ? <p class="error" role="alert">{error}</p> : null;
}

/** A file download of generated content. */
export function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
