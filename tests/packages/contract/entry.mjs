// A package entry written for tests/test_package_contract.py: it re-exports a real wasm-bindgen
// package (@wasm-fmt/sql_fmt, copied beside it by the test) and adds plain JS of every shape the
// load_package contract names (classes, keyword-named methods, toString, enums, constants,
// async functions, thrown values, the value table). tests/test_package_contract.py also runs it
// under Node and compares.
export * from "./sql_fmt_node.js";
import { format } from "./sql_fmt_node.js";

export const VERSION = "1.2.3";
export const LIMIT = 42;
export const HALF = 0.5;
export const Color = Object.freeze({ Red: 0, Green: 1, 0: "Red", 1: "Green" });
export const Mode = Object.freeze({ Fast: "fast", Slow: "slow" });

export class Formatter {
  constructor(upper) {
    this.upper = upper;
    this.count = 0;
    this.freed = false;
  }
  static create() {
    return new Formatter(true);
  }
  format(sql) {
    this.count++;
    return format(sql, { uppercase: this.upper });
  }
  get calls() {
    return this.count;
  }
  set calls(v) {
    this.count = v;
  }
  import(x) {
    return "import:" + x;
  }
  toString() {
    return `Formatter(${this.upper})`;
  }
  free() {
    this.freed = true;
  }
  isFreed() {
    return this.freed;
  }
}

export class Shouting extends Formatter {
  constructor() {
    super(true);
  }
  shout(s) {
    return s.toUpperCase() + "!";
  }
}

export function args(a, b, c) {
  return [a === undefined, b === undefined, c === undefined, arguments.length];
}
export async function later(x) {
  await null;
  return x * 2;
}
export async function fails() {
  await null;
  throw new RangeError("nope");
}
export function throwsString() {
  throw "plain";
}
export function throwsObject() {
  throw { code: 7 };
}
export function typeErr() {
  const o = null;
  return o.x;
}
export function roundtrip(v) {
  return v;
}
export function typeOf(v) {
  return [typeof v, Array.isArray(v), v instanceof Map, v instanceof Set, v instanceof Uint8Array, v?.constructor?.name ?? null];
}
export function negZero() {
  return -0;
}
export function bigs() {
  return [2n ** 70n, 5n, 2 ** 53, 2 ** 53 + 2, 1.5];
}
export function lone() {
  return "\ud800x";
}
export function loneLength(s) {
  return s.length;
}
export function withUndef() {
  return { a: undefined, b: null };
}
export function hasKey(o, k) {
  return [k in o, o[k] === undefined];
}
export function mk() {
  return new Map([[1, "a"], ["k", [1, 2]]]);
}
export function st() {
  return new Set([1, 2]);
}
export function typed() {
  return [new Uint8Array([1, 2, 255]), new Float32Array([1.5]), new Uint8ClampedArray([300, -5]), new BigInt64Array([-1n]), new Int16Array([-2])];
}
export function sum(arr) {
  let s = 0;
  for (const x of arr) s += Number(x);
  return [arr.constructor.name, s];
}
export function callCb(f, x) {
  return f(x) + 1;
}
export function makeAdder(n) {
  return (x) => x + n;
}
export function useHost(x) {
  return hostAdd(x, 1);
}
export function addBig(a, b) {
  return a + b;
}
