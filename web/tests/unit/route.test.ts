import { describe, expect, it } from "vitest";
import { EMPTY_QUERY } from "../../src/logic/filters";
import { experimentRoute, formatRoute, parseRoute, type Route } from "../../src/logic/route";

const parse = (path: string) => parseRoute(new URL(path, "https://localhost:8443"));

describe("routes", () => {
  it("round-trips every piece of state through the URL", () => {
    const route: Route = experimentRoute("abc", {
      tab: "chart", order: "model", drift: "d1", x: "data_drift.parameters.a", y: "concept_drift.parameters.p",
      query: { status: ["FAILED", "COMPLETED"], model: "xgb*", tags: ["weekly", "a b"], from: "2026-11-01", to: "2026-11-02", text: "x > 1" },
    });
    const url = formatRoute(route);
    expect(url.startsWith("/experiments/abc/chart?")).toBe(true);
    expect(parse(url)).toEqual(route);
  });
  it("keeps default state out of the URL", () => {
    expect(formatRoute(experimentRoute("abc"))).toBe("/experiments/abc");
    expect(formatRoute({ page: "experiments", search: "" })).toBe("/");
    expect(formatRoute({ page: "experiments", search: "credit" })).toBe("/?q=credit");
    expect(parse("/?q=credit&visibility=private")).toEqual({ page: "experiments", search: "credit", visibility: "private" });
    expect(parse("/?visibility=everything")).toEqual({ page: "experiments", search: "" });
  });
  it("drops unknown statuses and orders instead of sending them to the server", () => {
    const route = parse("/experiments/abc?status=FAILED,BOGUS&order=password");
    expect(route).toMatchObject({ page: "experiment", order: "start_time desc", query: { ...EMPTY_QUERY, status: ["FAILED"] } });
  });
  it("knows the callback and unknown paths", () => {
    expect(parse("/callback?code=1&state=2")).toEqual({ page: "callback" });
    expect(parse("/nope")).toEqual({ page: "not-found", path: "/nope" });
    expect(parse("/experiments/")).toEqual({ page: "experiments", search: "" });
  });
});
