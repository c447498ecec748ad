// A long-lived Node process for differential tests: one JSON request per stdin line, one JSON
// answer per stdout line, running each package's OWN glue (tests/test_package_differential.py).
//
//   {"op": "load", "as": "pkg", "file": "/abs/entry.js", "mode": "require" | "import"}
// (after a trap the test restarts the process: a re-imported entry would share the old glue
// module and its cached views of the old instance's memory)
//   {"op": "new", "as": "obj", "on": "pkg", "cls": "Tiktoken", "args": [...]}
//   {"op": "call", "on": "pkg" | "obj", "fn": "encode", "args": [...], "result_arg": 1?}
// Arguments: plain JSON, {"$bytes_b64"}, {"$u32": [...]}, {"$zeros": n}, {"$undefined": true},
// {"$bigint": "7"}, {"$json_file": "/abs/file.json", "$json_path": "a.b"?}.
// Answer: {"output": <encoded>} or {"throws": {"name", "message"} | {"thrown_non_error": <encoded>}}
// in the encoding of record.mjs (the corpus's).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import { encode } from "./record.mjs";

const names = {};
const files = {};
const require = createRequire(import.meta.url);

function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    if ("$undefined" in v) return undefined;
    if ("$bigint" in v) return BigInt(v.$bigint);
    if ("$bytes_b64" in v) return new Uint8Array(Buffer.from(v.$bytes_b64, "base64"));
    if ("$u32" in v) return Uint32Array.from(v.$u32);
    if ("$zeros" in v) return new Uint8Array(v.$zeros);
    if ("$json_file" in v) {
      files[v.$json_file] ??= JSON.parse(readFileSync(v.$json_file, "utf8"));
      let o = files[v.$json_file];
      for (const k of (v.$json_path ?? "").split(".").filter(Boolean)) o = o[k];
      return o;
    }
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = decode(x);
    return o;
  }
  return v;
}

async function handle(req) {
  if (req.op === "load") {
    names[req.as] = req.mode === "require" ? require(req.file) : await import(pathToFileURL(req.file).href);
    return { output: null };
  }
  const args = decode(req.args ?? []);
  try {
    if (req.op === "new") {
      names[req.as] = new names[req.on][req.cls](...args);
      return { output: null };
    }
    const target = names[req.on];
    let out = target[req.fn](...args);
    if (req.result_arg !== undefined) out = args[req.result_arg];
    return { output: encode(out) };
  } catch (e) {
    return { throws: e instanceof Error ? { name: e.name, message: e.message } : { thrown_non_error: encode(e) } };
  }
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  let answer;
  try {
    answer = await handle(JSON.parse(line));
  } catch (e) {
    answer = { server_error: String(e?.stack ?? e) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
