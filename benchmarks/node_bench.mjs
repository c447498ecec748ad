// Node side of the benchmark suite: time corpus calls running a package's own JS glue.
//
//   node benchmarks/node_bench.mjs --corpus DIR --cache DIR --package ID --cases a,b
//                                  [--rounds N] [--budget-ms MS] [--warmup N] [--warmup-ms MS]
//
// The package is loaded exactly as ../shared/corpus/node/ground_truth.mjs loads it: the
// corpus's node/cases/<id>.mjs `load(ctx)` with the same ctx, and node/wasm_esm_loader.mjs
// registered for bundler-style `import * as wasm from "./x_bg.wasm"`. No tracing wrappers
// are installed (ground_truth.mjs counts crossings; here only time matters). Each case's
// setup runs outside the timed region, then `c.bench ?? c.run` is timed as `rounds` batches
// of a calibrated number of calls (about budget-ms / rounds each), after at least `warmup`
// calls and `warmup-ms` (default budget-ms / rounds) of calls. The suite runs this with
// `node --no-liftoff` so the wasm runs TurboFan code from its first call (Node's steady state;
// with the baseline tier a large module such as resvg is up to 7x slower until tier-up).
// Output (stdout, one JSON document): node and v8 versions, the load time, and per case
// the per-call seconds of every batch with their median, min and max.
import { register } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { join, resolve } from "node:path";
import { timeBatches as timeBatchesWith } from "./node_timing.mjs";

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const CORPUS = resolve(opt("--corpus", join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "shared", "corpus")));
const CACHE = resolve(opt("--cache", "/tmp/realm-corpus-public"));
const PACKAGE = opt("--package", null);
const CASES = (opt("--cases", "") || "").split(",").filter(Boolean);
const ROUNDS = Math.max(1, Number(opt("--rounds", "7")));
const BUDGET_NS = Math.max(1, Number(opt("--budget-ms", "500"))) * 1e6;
const WARMUP = Math.max(0, Number(opt("--warmup", "3")));
const WARMUP_NS = Math.max(0, Number(opt("--warmup-ms", String(BUDGET_NS / 1e6 / ROUNDS)))) * 1e6;

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.exit(1);
}

if (!PACKAGE) fail("--package is required");
register(pathToFileURL(join(CORPUS, "node", "wasm_esm_loader.mjs")).href, import.meta.url);

// The inverse of the corpus value encoding for case inputs (as ground_truth.mjs decode()).
function decode(v, pkgRoot) {
  if (Array.isArray(v)) return v.map((x) => decode(x, pkgRoot));
  if (v && typeof v === "object") {
    if ("$undefined" in v) return undefined;
    if ("$bigint" in v) return BigInt(v.$bigint);
    if ("$bytes_b64" in v) return new Uint8Array(Buffer.from(v.$bytes_b64, "base64"));
    if ("$bytes_utf8" in v) return new TextEncoder().encode(v.$bytes_utf8);
    if ("$u32" in v) return Uint32Array.from(v.$u32);
    if ("$file" in v) {
      const txt = readFileSync(join(pkgRoot, v.$file), "utf8");
      if (!v.$json_path) return txt;
      let o = JSON.parse(txt);
      for (const k of v.$json_path.split(".")) o = o[k];
      return o;
    }
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = decode(x, pkgRoot);
    return o;
  }
  return v;
}

const now = () => process.hrtime.bigint();

const timeBatches = (fn) => timeBatchesWith(fn, { budgetNs: BUDGET_NS, rounds: ROUNDS, warmup: WARMUP, warmupNs: WARMUP_NS });

const pkgs = JSON.parse(readFileSync(join(CORPUS, "packages.json"), "utf8")).packages;
const pkg = pkgs.find((p) => p.id === PACKAGE);
if (!pkg) fail(`unknown package ${PACKAGE}`);
const pkgRoot = join(CACHE, "pkgs", pkg.id);
const wasmFile = join(pkgRoot, pkg.wasm_path);
if (!existsSync(wasmFile)) fail(`${wasmFile} missing; run ${join(CORPUS, "fetch.sh")} ${CACHE}`);
const def = await import(pathToFileURL(join(CORPUS, "node", "cases", `${pkg.id}.mjs`)).href);
const ctx = {
  pkgRoot,
  wasmBytes: new Uint8Array(readFileSync(wasmFile)),
  glueUrl: pathToFileURL(join(pkgRoot, pkg.glue)).href,
  glueFile: join(pkgRoot, pkg.glue),
  importGlue: () => import(pathToFileURL(join(pkgRoot, pkg.glue)).href),
};
const loadStart = now();
const api = await def.load(ctx);
const loadSeconds = Number(now() - loadStart) / 1e9;

const out = {
  node_version: process.version,
  v8_version: process.versions.v8,
  package: pkg.id,
  load_s: loadSeconds,
  cases: {},
};
for (const cid of CASES) {
  const c = def.cases.find((x) => x.id === cid);
  if (!c) {
    out.cases[cid] = { error: `no case ${cid} in node/cases/${pkg.id}.mjs` };
    continue;
  }
  try {
    const inputs = decode(c.inputs ?? {}, pkgRoot);
    const state = c.setup ? await c.setup(api, inputs) : undefined;
    const core = c.bench ?? c.run;
    const fn = c.expect_throw
      ? () => {
          try {
            core(api, inputs, state);
          } catch (e) {}
        }
      : () => core(api, inputs, state);
    out.cases[cid] = { timed_js: c.bench_js ?? c.js, ...timeBatches(fn) };
    if (c.teardown) c.teardown(state);
  } catch (e) {
    out.cases[cid] = { error: String(e?.stack ?? e) };
  }
}
process.stdout.write(JSON.stringify(out) + "\n");
