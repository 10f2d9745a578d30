import { describe, expect, it } from "vitest";
import { buildFilter, EMPTY_QUERY, nextDay, quote } from "../../src/logic/filters";

describe("quote", () => {
  it("escapes quotes and backslashes", () => {
    expect(quote('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
  });
  it("keeps a trailing star literal unless a wildcard is asked for", () => {
    expect(quote("xgb*")).toBe('"xgb\\*"');
    expect(quote("xgb*", true)).toBe('"xgb*"');
  });
});

describe("buildFilter", () => {
  it("is empty for no controls", () => {
    expect(buildFilter(EMPTY_QUERY)).toBe("");
  });
  it("ANDs every control, ORs the statuses, and keeps the raw text grouped", () => {
    const text = buildFilter({
      status: ["FAILED", "RUNNING"], model: "xgb*", tags: ["weekly", 'a"b'], from: "2026-11-01", to: "2026-11-30",
      text: "a = 1 OR b = 2",
    });
    expect(text).toBe(
      '(status = FAILED OR status = RUNNING) AND model = "xgb*" AND tags:"weekly" AND tags:"a\\"b"' +
        " AND start_time >= 2026-11-01 AND start_time < 2026-12-01 AND (a = 1 OR b = 2)",
    );
  });
  it("filters lost runs by their own status", () => {
    expect(buildFilter({ ...EMPTY_QUERY, status: ["LOST"] })).toBe("status = LOST");
  });
  it("passes a lone raw filter through unchanged", () => {
    expect(buildFilter({ ...EMPTY_QUERY, text: " error_message:* " })).toBe("error_message:*");
  });
  it("refuses a malformed date, naming the control", () => {
    expect(() => buildFilter({ ...EMPTY_QUERY, from: "yesterday" })).toThrow(/^from:/);
  });
  it("makes the end date inclusive across month and year ends", () => {
    expect(nextDay("2026-12-31")).toBe("2027-01-01");
    expect(nextDay("2028-02-28")).toBe("2028-02-29");
  });
});
