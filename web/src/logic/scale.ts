// Axis scales for the charts: a linear map and a few round tick values.

export interface Scale { (value: number): number; ticks: number[] }

export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** domain -> range; a zero-width domain is widened so a single point still lands in the middle. */
export function linear(domain: [number, number], range: [number, number], tickCount = 5): Scale {
  let [d0, d1] = domain;
  if (d0 === d1) { d0 -= 1; d1 += 1; }
  const step = niceStep(d1 - d0, tickCount);
  const ticks: number[] = [];
  for (let t = Math.ceil(d0 / step) * step; t <= d1 + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  const scale = ((value: number) => range[0] + ((value - d0) / (d1 - d0)) * (range[1] - range[0])) as Scale;
  scale.ticks = ticks;
  return scale;
}

export function extent(values: number[]): [number, number] {
  return values.length ? [Math.min(...values), Math.max(...values)] : [0, 1];
}

const MINUTE = 60_000, HOUR = 60 * MINUTE, DAY = 24 * HOUR;
/** Calendar-round steps for a time axis (UTC): ticks fall on whole minutes, hours, days or weeks. */
const TIME_STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY, 364 * DAY];

/** Tick times (ms) for [from, to] with at most `most` ticks, and the label each one gets. */
export function timeTicks(domain: [number, number], most: number): { ticks: number[]; label: (ms: number) => string } {
  const [d0, d1] = domain[0] === domain[1] ? [domain[0] - HOUR, domain[1] + HOUR] : domain;
  const step = TIME_STEPS.find((s) => (d1 - d0) / s <= Math.max(1, most)) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const ticks: number[] = [];
  for (let t = Math.ceil(d0 / step) * step; t <= d1; t += step) ticks.push(t);
  const date = (ms: number) => new Date(ms).toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
  const year = (ms: number) => `${date(ms)} ${new Date(ms).getUTCFullYear()}`;
  const clock = (ms: number) => new Date(ms).toISOString().slice(11, 16);
  const label = step >= 91 * DAY ? year : step >= DAY ? date : (ms: number) => `${date(ms)} ${clock(ms)}`;
  return { ticks, label };
}
