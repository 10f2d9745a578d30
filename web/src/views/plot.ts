// Canvas drawing for the charts (a canvas exports to PNG as it is shown).
import type { DayRate, Point } from "../logic/params";
import { extent, linear } from "../logic/scale";

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

const label = (value: number, time: boolean) =>
  time ? new Date(value).toISOString().slice(5, 16).replace("T", " ") : Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(1) : String(value);

export function drawScatter(canvas: HTMLCanvasElement, points: Point[], xName: string, yName: string): void {
  const ctx = frame(canvas, `${yName} against ${xName === "create_time" ? "time" : xName}`);
  const time = xName === "create_time";
  const x = linear(extent(points.map((p) => p.x)), [PAD.left, canvas.width - PAD.right], time ? 4 : 6);
  const y = linear(extent(points.map((p) => p.y)), [canvas.height - PAD.bottom, PAD.top]);
  ctx.strokeStyle = "#ddd";
  ctx.fillStyle = "#555";
  ctx.font = "11px sans-serif";
  for (const t of y.ticks) {
    ctx.beginPath(); ctx.moveTo(PAD.left, y(t)); ctx.lineTo(canvas.width - PAD.right, y(t)); ctx.stroke();
    ctx.fillText(label(t, false), 4, y(t) + 4);
  }
  for (const t of x.ticks) ctx.fillText(label(t, time), x(t) - 20, canvas.height - PAD.bottom + 16);
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
}

export function drawRate(canvas: HTMLCanvasElement, days: DayRate[]): void {
  const ctx = frame(canvas, "Drift rate per day (share of runs with drift detected)");
  const y = linear([0, 1], [canvas.height - PAD.bottom, PAD.top]);
  const width = (canvas.width - PAD.left - PAD.right) / Math.max(1, days.length);
  ctx.font = "11px sans-serif";
  for (const t of y.ticks) { ctx.fillStyle = "#555"; ctx.fillText(`${Math.round(t * 100)}%`, 16, y(t) + 4); }
  days.forEach((day, i) => {
    const left = PAD.left + i * width;
    ctx.fillStyle = CLEAR;
    ctx.fillRect(left + 2, y(1), Math.max(1, width - 4), y(0) - y(1));
    ctx.fillStyle = DETECTED;
    ctx.fillRect(left + 2, y(day.rate), Math.max(1, width - 4), y(0) - y(day.rate));
    if (days.length <= 14 || i % Math.ceil(days.length / 14) === 0) {
      ctx.fillStyle = "#555";
      ctx.fillText(day.day.slice(5), left + 2, canvas.height - PAD.bottom + 16);
    }
  });
  legend(ctx, canvas);
}

function legend(ctx: CanvasRenderingContext2D, canvas: HTMLCanvasElement): void {
  ctx.font = "12px sans-serif";
  const y = canvas.height - 10;
  ctx.fillStyle = DETECTED; ctx.fillRect(PAD.left, y - 9, 10, 10);
  ctx.fillStyle = "#222"; ctx.fillText("drift detected", PAD.left + 14, y);
  ctx.fillStyle = CLEAR; ctx.fillRect(PAD.left + 120, y - 9, 10, 10);
  ctx.fillStyle = "#222"; ctx.fillText("no drift", PAD.left + 134, y);
}
