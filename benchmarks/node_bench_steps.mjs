// Node side of benchmarks/bench_package_calls.py for the packages tried here (tests/packages):
// time each case's steps (tests/packages/record.mjs's step language) on the package's own glue.
//
//   node benchmarks/node_bench_steps.mjs --cache DIR --package ID --cases a,b [--rounds N] [--budget-ms MS]
//
// The package is loaded as record.mjs loads it; each case is timed as `rounds` batches of a
// calibrated number of calls (about budget-ms / rounds each) after a warm-up of one batch's time.
// Output (stdout, one JSON document): per case the per-call seconds of each batch, median, min.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";
import { runSteps, loadPackage } from "../tests/packages/record.mjs";
import { timeBatches as timeBatchesWith } from "./node_timing.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const PKGS = join(HERE, "..", "tests", "packages");
const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
const CACHE = resolve(opt("--cache", "/tmp/realm-new-packages"));
const PACKAGE = opt("--package", null);
const CASES = (opt("--cases", "") || "").split(",").filter(Boolean);
const ROUNDS = Math.max(1, Number(opt("--rounds", "5")));
const BUDGET_NS = Math.max(1, Number(opt("--budget-ms", "300"))) * 1e6;

const timeBatches = (fn) => timeBatchesWith(fn, { budgetNs: BUDGET_NS, rounds: ROUNDS });

const pkg = JSON.parse(readFileSync(join(PKGS, "packages.json"), "utf8")).packages.find((p) => p.id === PACKAGE);
const out = { node_version: process.version, package: PACKAGE, cases: {} };
if (!pkg) out.error = `unknown package ${PACKAGE}`;
else {
  const api = await loadPackage(pkg, join(CACHE, "pkgs", pkg.id, "package"));
  const spec = JSON.parse(readFileSync(join(PKGS, pkg.id, "cases.json"), "utf8"));
  for (const cid of CASES) {
    const c = spec.cases.find((x) => x.id === cid);
    if (!c) { out.cases[cid] = { error: `no case ${cid}` }; continue; }
    const fn = c.expect_throw
      ? () => { try { runSteps(api, c.steps, c.result); } catch (e) {} }
      : () => runSteps(api, c.steps, c.result);
    try { out.cases[cid] = timeBatches(fn); } catch (e) { out.cases[cid] = { error: String(e?.stack ?? e) }; }
  }
}
process.stdout.write(JSON.stringify(out) + "\n");
