// Canvas drawing for the charts (a canvas exports to PNG as it is shown).
import type { DayRate, Point } from "../logic/params";
import { isTime } from "../logic/params";
import { extent, linear, timeTicks } from "../logic/scale";

const DETECTED = "#c0392b";
const CLEAR = "#2e86c1";
const PAD = { left: 64, right: 16, top: 28, bottom: 44 };

function frame(canvas: HTMLCanvasElement, title: string): CanvasRenderingContext2D {
  const ctx = canvas.getContext("2d")!;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#222";
  ctx.font = "14px sans-serif";
  ctx.fillText(title, PAD.left, 18);
  return ctx;
}

const number = (value: number) =>
  Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(1) : String(value);

const AXIS_NAMES: Record<string, string> = { start_time: "run start (UTC)", create_time: "time stored (UTC)" };
export const axisName = (path: string) => AXIS_NAMES[path] ?? path;

/** A label drawn under the x axis and where it went (tests check that none is cut off or overlaps). */
export interface TickLabel { text: string; left: number; right: number }

/** Labels under the x axis, centred on their ticks and kept inside the canvas. */
function xLabels(ctx: CanvasRenderingContext2D, canvas: HTMLCanvasElement, ticks: number[], at: (t: number) => number, text: (t: number) => string): TickLabel[] {
  ctx.textAlign = "center";
  const drawn = ticks.map((t) => {
    const words = text(t), half = ctx.measureText(words).width / 2;
    const x = Math.min(Math.max(at(t), half + 2), canvas.width - half - 2);
    ctx.fillText(words, x, canvas.height - PAD.bottom + 16);
    return { text: words, left: x - half, right: x + half };
  });
  ctx.textAlign = "start";
  return drawn;
}

export function drawScatter(canvas: HTMLCanvasElement, points: Point[], xName: string, yName: string): TickLabel[] {
  const ctx = frame(canvas, `${yName} against ${axisName(xName)}`);
  const time = isTime(xName);
  ctx.font = "12px sans-serif";
  const plotWidth = canvas.width - PAD.left - PAD.right;
  let domain = extent(points.map((p) => p.x));
  let xTicks: number[], xText: (t: number) => string;
  if (time) {
    // As many ticks as their widest label allows, with room between them.
    const widest = ctx.measureText("Sep 30 23:30").width + 24;
    if (domain[0] === domain[1]) domain = [domain[0] - 3_600_000, domain[1] + 3_600_000];
    ({ ticks: xTicks, label: xText } = timeTicks(domain, Math.max(2, Math.floor(plotWidth / widest))));
  } else {
    xTicks = [];
    xText = number;
  }
  const x = linear(domain, [PAD.left, canvas.width - PAD.right], time ? 4 : 6);
  if (!time) xTicks = x.ticks;
  const y = linear(extent(points.map((p) => p.y)), [canvas.height - PAD.bottom, PAD.top]);
  ctx.strokeStyle = "#ddd";
  ctx.fillStyle = "#555";
  for (const t of y.ticks) {
    ctx.beginPath(); ctx.moveTo(PAD.left, y(t)); ctx.lineTo(canvas.width - PAD.right, y(t)); ctx.stroke();
    ctx.fillText(number(t), 4, y(t) + 4);
  }
  for (const t of xTicks) {
    ctx.beginPath(); ctx.moveTo(x(t), PAD.top); ctx.lineTo(x(t), canvas.height - PAD.bottom + 4); ctx.stroke();
  }
  const labels = xLabels(ctx, canvas, xTicks, x, xText);
  if (time && points.length > 1) {  // the sequence of runs, for reading trends
    ctx.strokeStyle = "#bbb";
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(x(p.x), y(p.y)) : ctx.moveTo(x(p.x), y(p.y))));
    ctx.stroke();
  }
  for (const p of points) {
    ctx.fillStyle = p.detected ? DETECTED : CLEAR;
    ctx.beginPath(); ctx.arc(x(p.x), y(p.y), 4, 0, Math.PI * 2); ctx.fill();
  }
  legend(ctx, canvas);
  return labels;
}

export function drawRate(canvas: HTMLCanvasElement, days: DayRate[]): TickLabel[] {
  const ctx = frame(canvas, "Drift rate per day the runs started (share of runs with drift detected)");
  const labels: TickLabel[] = [];
  const y = linear([0, 1], [canvas.height - PAD.bottom, PAD.top]);
  const width = (canvas.width - PAD.left - PAD.right) / Math.max(1, days.length);
  ctx.font = "12px sans-serif";
  for (const t of y.ticks) { ctx.fillStyle = "#555"; ctx.fillText(`${Math.round(t * 100)}%`, 16, y(t) + 4); }
  const every = Math.max(1, Math.ceil(days.length / Math.floor((canvas.width - PAD.left - PAD.right) / (ctx.measureText("Sep 30").width + 16))));
  const dayName = (day: string) => new Date(`${day}T00:00:00Z`).toLocaleDateString("en", { month: "short", day: "numeric", timeZone: "UTC" });
  days.forEach((day, i) => {
    const left = PAD.left + i * width;
    ctx.fillStyle = CLEAR;
    ctx.fillRect(left + 2, y(1), Math.max(1, width - 4), y(0) - y(1));
    ctx.fillStyle = DETECTED;
    ctx.fillRect(left + 2, y(day.rate), Math.max(1, width - 4), y(0) - y(day.rate));
    if (i % every === 0) {
      ctx.fillStyle = "#555";
      labels.push(...xLabels(ctx, canvas, [left + width / 2], (t) => t, () => dayName(day.day)));
    }
  });
  legend(ctx, canvas);
  return labels;
}

function legend(ctx: CanvasRenderingContext2D, canvas: HTMLCanvasElement): void {
  ctx.font = "12px sans-serif";
  const y = canvas.height - 10;
  ctx.fillStyle = DETECTED; ctx.fillRect(PAD.left, y - 9, 10, 10);
  ctx.fillStyle = "#222"; ctx.fillText("drift detected", PAD.left + 14, y);
  ctx.fillStyle = CLEAR; ctx.fillRect(PAD.left + 120, y - 9, 10, 10);
  ctx.fillStyle = "#222"; ctx.fillText("no drift", PAD.left + 134, y);
}
