#!/usr/bin/env node
// Record Node's ground truth for tests/packages/<id>/cases.json: each package's OWN glue runs
// under Node, the case's steps are made, and the result (or what was thrown) is written in the
// corpus value encoding (../shared/corpus/README.md, "Values") to <id>/recorded.json.
//
//   node tests/packages/record.mjs [--cache DIR] [--only id,id]
//
// The packages come from tests/packages/fetch.py (npm pack, sha512-checked): CACHE/pkgs/<id>/package.
//
// Steps (the same list is replayed from Python by tests/test_package_new.py):
//   {"call": "fn", "args": [...]}                 an exported function
//   {"new": "Cls", "args": [...]}                 a constructor
//   {"method": "m", "on": "name", "args": [...]}  a method of a value named by an earlier "as"
//   {"static": "m", "cls": "Cls", "args": [...]}  a static method
//   {"get": "prop", "on": "name"}                 a property (getter)
//   {"free": "name"}                              obj.free()
//   {"bytes": n}                                  a fresh Uint8Array(n) (numpy uint8 zeros in Python),
//                                                 e.g. for a &mut [u8] the next call fills
// each optionally with "as": "name". Arguments use the input encoding plus {"$ref": "name"}.
// The case's result is its last step's value, or the named value of "result": "name".
import { createRequire } from "node:module";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { createHash } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join, resolve } from "node:path";

const HERE = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
const CACHE = resolve(opt("--cache", process.env.REALM_NEW_PACKAGES_CACHE || "/tmp/realm-new-packages"));
const ONLY = opt("--only", null)?.split(",");

const sha256 = (b) => createHash("sha256").update(b).digest("hex");
export function encode(v) {
  if (v === undefined) return { $undefined: true };
  if (v === null || typeof v === "boolean" || typeof v === "string") return v;
  if (typeof v === "number") {
    if (Number.isNaN(v)) return { $f64: "NaN" };
    if (!Number.isFinite(v)) return { $f64: v > 0 ? "Infinity" : "-Infinity" };
    if (Object.is(v, -0)) return { $f64: "-0" };
    return v;
  }
  if (typeof v === "bigint") return { $bigint: v.toString() };
  if (typeof v === "function") return { $function: v.name || "anonymous" };
  if (v instanceof Error) return { $error: { name: v.name, message: v.message } };
  if (v instanceof Uint8Array) {
    const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const r = { $type: "Uint8Array", length: v.length, sha256: sha256(b) };
    if (v.length <= 256) r.b64 = b.toString("base64");
    return r;
  }
  if (ArrayBuffer.isView(v)) {
    const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const r = { $type: v.constructor.name, length: v.length, sha256_bytes_le: sha256(b) };
    if (v.length <= 4096) r.values = Array.from(v, (x) => (typeof x === "bigint" ? x.toString() : x));
    return r;
  }
  if (Array.isArray(v)) return v.map(encode);
  if (v instanceof Map) return { $type: "Map", entries: [...v.entries()].map(([k, x]) => [encode(k), encode(x)]) };
  if (v instanceof Set) return { $type: "Set", values: [...v.values()].map(encode) };
  const out = {};
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) out.$class = v.constructor?.name ?? "?";
  for (const [k, x] of Object.entries(v)) if (k !== "__wbg_ptr" && k !== "ptr") out[k] = encode(x);
  return out;
}

function decode(v, names) {
  if (Array.isArray(v)) return v.map((x) => decode(x, names));
  if (v && typeof v === "object") {
    if ("$undefined" in v) return undefined;
    if ("$bigint" in v) return BigInt(v.$bigint);
    if ("$bytes_utf8" in v) return new TextEncoder().encode(v.$bytes_utf8);
    if ("$bytes_b64" in v) return new Uint8Array(Buffer.from(v.$bytes_b64, "base64"));
    if ("$ref" in v) return names[v.$ref];
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = decode(x, names);
    return o;
  }
  return v;
}

export function runSteps(api, steps, resultName) {
  const names = {};
  let last;
  for (const s of steps) {
    const args = decode(s.args ?? [], names);
    if ("call" in s) last = api[s.call](...args);
    else if ("new" in s) last = new api[s.new](...args);
    else if ("method" in s) last = names[s.on][s.method](...args);
    else if ("static" in s) last = api[s.cls][s.static](...args);
    else if ("get" in s) last = names[s.on][s.get];
    else if ("free" in s) last = names[s.free].free();
    else if ("bytes" in s) last = new Uint8Array(s.bytes);
    else throw new Error(`unknown step ${JSON.stringify(s)}`);
    if (s.as) names[s.as] = last;
  }
  return resultName ? names[resultName] : last;
}

export function nodeEntry(pkg, root) {
  if (pkg.entry) return join(root, pkg.entry);
  const meta = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const dot = meta.exports?.["."];
  const viaExports = typeof dot === "string" ? dot : dot?.node ?? dot?.import ?? dot?.default;
  return join(root, viaExports ?? meta.main ?? "index.js");
}

export async function loadPackage(pkg, root) {
  const file = nodeEntry(pkg, root);
  if (pkg.node_load === "require") return createRequire(import.meta.url)(file);
  return await import(pathToFileURL(file).href);
}

async function main() {
  const list = JSON.parse(readFileSync(join(HERE, "packages.json"), "utf8")).packages;
  let failures = 0;
  for (const pkg of list) {
    if (ONLY && !ONLY.includes(pkg.id)) continue;
    const root = join(CACHE, "pkgs", pkg.id, "package");
    if (!existsSync(root)) throw new Error(`${root} missing: run python tests/packages/fetch.py ${CACHE}`);
    const api = await loadPackage(pkg, root);
    const spec = JSON.parse(readFileSync(join(HERE, pkg.id, "cases.json"), "utf8"));
    const cases = [];
    for (const c of spec.cases) {
      const rec = { id: c.id, description: c.description, steps: c.steps, ...(c.result ? { result: c.result } : {}), ...(c.fresh ? { fresh: true } : {}) };
      try {
        rec.output = encode(runSteps(api, c.steps, c.result));
      } catch (e) {
        rec.throws = e instanceof Error ? { name: e.name, message: e.message, js_type: e.constructor?.name } : { thrown_non_error: encode(e) };
        if (!c.expect_throw) { console.error(`!! ${pkg.id}/${c.id}: unexpected throw`, e); failures++; }
      }
      if (c.expect_throw && !rec.throws) { console.error(`!! ${pkg.id}/${c.id}: expected a throw`); failures++; }
      cases.push(rec);
      console.log(`   ${pkg.id}/${c.id.padEnd(28)} ${rec.throws ? "THROWS " + (rec.throws.message ?? "").slice(0, 60) : "ok"}`);
    }
    const doc = {
      package: pkg.spec, id: pkg.id, entry: nodeEntry(pkg, root).slice(root.length + 1),
      generated_by: "tests/packages/record.mjs", node_version: process.version, cases,
    };
    writeFileSync(join(HERE, pkg.id, "recorded.json"), JSON.stringify(doc, null, 1) + "\n");
  }
  if (failures) process.exit(1);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
