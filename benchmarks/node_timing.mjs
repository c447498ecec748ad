// Timing shared by the Node sides of the benchmarks (node_bench.mjs, node_bench_steps.mjs).
const now = () => process.hrtime.bigint();

// Time `fn` as `rounds` batches of a calibrated number of calls (each batch about
// budgetNs / rounds), after at least `warmup` calls and `warmupNs` of calls. Returns the
// per-call seconds of every batch with their median, min and max.
export function timeBatches(fn, { budgetNs, rounds, warmup = 1, warmupNs = budgetNs / rounds / 2 }) {
  const warmStart = now();
  for (let i = 0; i < warmup || Number(now() - warmStart) < warmupNs; i++) fn();
  // calibrate: one call, then one trial batch, so that a batch lasts about budgetNs / rounds
  const target = budgetNs / rounds;
  let t0 = now();
  fn();
  let single = Math.max(Number(now() - t0), 50);
  let size = Math.max(1, Math.min(1e6, Math.round(target / single)));
  if (size > 1) {
    const probe = Math.max(1, Math.round(size / 4));
    t0 = now();
    for (let i = 0; i < probe; i++) fn();
    single = Math.max(Number(now() - t0) / probe, 1);
    size = Math.max(1, Math.min(1e6, Math.round(target / single)));
  }
  const perCall = [];
  for (let r = 0; r < rounds; r++) {
    t0 = now();
    for (let i = 0; i < size; i++) fn();
    perCall.push(Number(now() - t0) / 1e9 / size);
  }
  const sorted = [...perCall].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { batch_size: size, rounds, per_call_s: perCall, median_s: median, min_s: sorted[0], max_s: sorted[sorted.length - 1] };
}
