// Node's answers for the contract entry (printed as JSON), for tests/test_package_contract.py.
const m = await import(process.argv[2]);
const f = new m.Formatter(false);
const out = {
  format: f.format("select 1"),
  calls: f.calls,
  import: f.import("x"),
  str: String(f),
  args: m.args(1),
  later: await m.later(21),
  negZeroIsNeg: Object.is(m.negZero(), -0),
  lone: m.loneLength(m.lone()),
  bigs: m.bigs().map(String),
  sum: m.sum(new Float64Array([1.5, 2])),
  adder: m.makeAdder(2)(40),
};
try { m.typeErr(); } catch (e) { out.typeErr = [e.name, e.message]; }
try { await m.fails(); } catch (e) { out.fails = [e.name, e.message]; }
console.log(JSON.stringify(out));
