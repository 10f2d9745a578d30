// The URL is the state: every view, filter, sort order, open run and chart axis is a deep link.
import { EMPTY_QUERY, STATUSES, type DriftQuery, type Status } from "./filters";

export type Tab = "drifts" | "chart" | "alerts" | "sharing";
export type Visibility = "" | "public" | "private";
export const TABS: Tab[] = ["drifts", "chart", "alerts", "sharing"];
// Newest first by when the jobs ran (a spooled run stored a week late sorts where it ran).
export const ORDERS = ["start_time desc", "start_time", "create_time desc", "update_time desc", "model", "status"] as const;

export type Route =
  | { page: "experiments"; search: string; visibility?: Visibility }
  | {
      page: "experiment";
      id: string;
      tab: Tab;
      query: DriftQuery;
      order: string;
      /** An open run's id. */
      drift: string;
      /** Chart axes: "start_time", "create_time" or a parameters path; y "" picks an informative one. */
      x: string;
      y: string;
    }
  | { page: "callback" }
  | { page: "not-found"; path: string };

export const DEFAULT_ORDER = "start_time desc";

export function parseRoute(url: URL): Route {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const p = url.searchParams;
  if (path === "/" || path === "/experiments") {
    const visibility = p.get("visibility");
    return { page: "experiments", search: p.get("q") ?? "", ...(visibility === "public" || visibility === "private" ? { visibility } : {}) };
  }
  if (path === "/callback") return { page: "callback" };
  const match = /^\/experiments\/([^/]+)(?:\/(drifts|chart|alerts|sharing))?$/.exec(path);
  if (!match) return { page: "not-found", path };
  const status = (p.get("status") ?? "").split(",").filter((s): s is Status => (STATUSES as readonly string[]).includes(s));
  const order = p.get("order") ?? DEFAULT_ORDER;
  return {
    page: "experiment",
    id: decodeURIComponent(match[1]),
    tab: (match[2] as Tab | undefined) ?? "drifts",
    query: {
      ...EMPTY_QUERY,
      status,
      model: p.get("model") ?? "",
      tags: p.getAll("tag"),
      from: p.get("from") ?? "",
      to: p.get("to") ?? "",
      text: p.get("filter") ?? "",
    },
    order: (ORDERS as readonly string[]).includes(order) ? order : DEFAULT_ORDER,
    drift: p.get("drift") ?? "",
    x: p.get("x") ?? "start_time",
    y: p.get("y") ?? "",
  };
}

/** Path and query for a route; empty values are left out so links stay short. */
export function formatRoute(route: Route): string {
  const p = new URLSearchParams();
  switch (route.page) {
    case "experiments":
      if (route.search) p.set("q", route.search);
      if (route.visibility) p.set("visibility", route.visibility);
      return withQuery("/", p);
    case "callback":
      return "/callback";
    case "not-found":
      return route.path;
    case "experiment": {
      const q = route.query;
      if (q.status.length) p.set("status", q.status.join(","));
      if (q.model) p.set("model", q.model);
      for (const tag of q.tags) p.append("tag", tag);
      if (q.from) p.set("from", q.from);
      if (q.to) p.set("to", q.to);
      if (q.text) p.set("filter", q.text);
      if (route.order !== DEFAULT_ORDER) p.set("order", route.order);
      if (route.drift) p.set("drift", route.drift);
      if (route.tab === "chart") {
        if (route.x !== "start_time") p.set("x", route.x);
        if (route.y) p.set("y", route.y);
      }
      const tab = route.tab === "drifts" ? "" : `/${route.tab}`;
      return withQuery(`/experiments/${encodeURIComponent(route.id)}${tab}`, p);
    }
  }
}

function withQuery(path: string, params: URLSearchParams): string {
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

export function experimentRoute(id: string, rest: Partial<Extract<Route, { page: "experiment" }>> = {}): Route {
  return { page: "experiment", id, tab: "drifts", query: EMPTY_QUERY, order: DEFAULT_ORDER, drift: "", x: "start_time", y: "", ...rest };
}
