// Parse PromQL with @prometheus-io/lezer-promql, the grammar of Prometheus's own query editor.
//   node deploy/promql/check.cjs [DASHBOARD.json ...]   every panel query of the dashboards
//   node deploy/promql/check.cjs --expr 'EXPR' ...      the given expressions
// Prints each query that does not parse, with the position of the first error; exits 1 if any.
"use strict";
const fs = require("fs");
const { parser } = require("@prometheus-io/lezer-promql");

function queries(args) {
  if (args[0] === "--expr") return args.slice(1).map((expr) => ({ where: "--expr", expr }));
  return args.flatMap((file) =>
    JSON.parse(fs.readFileSync(file, "utf8")).panels.flatMap((panel) =>
      (panel.targets || []).map((target) => ({ where: `${file}: ${panel.title}`, expr: target.expr }))));
}

function firstError(expr) {
  let at = -1;
  parser.parse(expr).iterate({ enter: (node) => { if (at < 0 && node.type.isError) at = node.from; } });
  return at;
}

const all = queries(process.argv.slice(2));
let failed = 0;
for (const { where, expr } of all) {
  const at = firstError(expr);
  if (at >= 0) {
    failed += 1;
    console.log(`${where}: PromQL error at character ${at + 1}: ${expr.slice(0, at)} >>> ${expr.slice(at)}`);
  }
}
console.log(`${all.length - failed} of ${all.length} queries parse`);
process.exit(failed ? 1 : 0);
