// SPDX-License-Identifier: LGPL-2.1-or-later
// ort-bench — ONNX Runtime's time for the networks attn-bench runs (exported
// by tools/ort_export.py), for its ONNX Runtime column. CPU execution
// provider, graphOptimizationLevel 'all', intraOpNumThreads as asked,
// interOpNumThreads 1, sequential execution. Batch 1, 3x224x224, the input
// attn-bench feeds its own networks; warm-up runs, then the median of RUNS.
//
//   node tools/bench/ort-bench.mjs --threads 2 --runs 21 DIR NAME...
//
// prints, on stdout, one line first and then one per model:
//   version <onnxruntime-node version>
//   ort <NAME> <median ms> <max |logit - PyTorch's| / max |PyTorch's logit|>
// (the last is "nan" without DIR/NAME.ref) or, when a model fails,
//   ort <NAME> nan error
// With --layers, ONNX Runtime's own profiler (enableProfiling) times every
// node of each run too, and one line per node follows the model's, in the
// order the nodes first ran:
//   node <NAME> <op type> <median ms over the timed runs> <node name>
// (the profile file is read and removed; the model's median is then that
// of profiled runs).
//
// With --serve, it loads every model, runs the warm-ups, prints `ready`,
// then answers lines on stdin until `quit` or end of input:
//   run <NAME> <N>   ->   times <NAME> <ms> ... (N runs, each timed)
// so that a caller can alternate its own runs with ONNX Runtime's.
// Needs onnxruntime-node installed beside this file (tools/bench/package.json:
// `ONNXRUNTIME_NODE_INSTALL=skip npm install` there, or ./run bench --ort).
import { readFileSync, existsSync, unlinkSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

let threads = 1, runs = 21, warmup = 3, layers = false, serve = false;
const rest = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--threads') threads = parseInt(argv[++i], 10);
  else if (argv[i] === '--runs') runs = parseInt(argv[++i], 10);
  else if (argv[i] === '--warmup') warmup = parseInt(argv[++i], 10);
  else if (argv[i] === '--layers') layers = true;
  else if (argv[i] === '--serve') serve = true;
  else rest.push(argv[i]);
}
const [dir, ...names] = rest;
if (!dir || names.length === 0) {
  process.stderr.write('usage: ort-bench.mjs [--threads N] [--runs N] [--warmup N] [--layers | --serve] DIR NAME...\n');
  process.exit(2);
}

let version = '?';
try {
  version = require('onnxruntime-node/package.json').version;
} catch {
  version = ort.env?.versions?.node ?? '?';
}
console.log(`version ${version}`);

const n = 3 * 224 * 224;
const data = new Float32Array(n);
for (let j = 0; j < n; j++) data[j] = ((j * 7919) % 255) / 255 - 0.5;

// A session for NAME.onnx as every mode runs it, and its input.
async function open(name, profile) {
  const session = await ort.InferenceSession.create(join(dir, `${name}.onnx`), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableProfiling: profile,
    profileFilePrefix: join(tmpdir(), `ort-bench-${process.pid}`),
  });
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, 224, 224]) };
  return { session, feeds };
}

if (serve) {
  const sessions = new Map();
  for (const name of names) {
    try {
      const { session, feeds } = await open(name, false);
      for (let w = 0; w < warmup; w++) await session.run(feeds);
      sessions.set(name, { session, feeds });
    } catch (e) {
      process.stderr.write(`ort-bench: ${name}: ${e.message}\n`);
    }
  }
  console.log('ready');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [cmd, name, count] = line.trim().split(/\s+/);
    if (cmd === 'quit') break;
    const s = sessions.get(name);
    const k = parseInt(count, 10);
    if (cmd !== 'run' || !s || !(k > 0)) {
      console.log(`times ${name} error`);
      continue;
    }
    const times = [];
    for (let r = 0; r < k; r++) {
      const t = process.hrtime.bigint();
      await s.session.run(s.feeds);
      times.push((Number(process.hrtime.bigint() - t) / 1e6).toFixed(3));
    }
    console.log(`times ${name} ${times.join(' ')}`);
  }
  process.exit(0);
}

for (const name of names) {
  try {
    const { session, feeds } = await open(name, layers);
    let out;
    for (let w = 0; w < warmup; w++) out = await session.run(feeds);
    const times = [];
    for (let r = 0; r < runs; r++) {
      const t = process.hrtime.bigint();
      out = await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    let rel = NaN;
    const refPath = join(dir, `${name}.ref`);
    if (existsSync(refPath)) {
      const buf = readFileSync(refPath);
      const ref = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
      const got = out[session.outputNames[0]].data;
      let dmax = 0, rmax = 0;
      for (let k = 0; k < ref.length; k++) {
        dmax = Math.max(dmax, Math.abs(got[k] - ref[k]));
        rmax = Math.max(rmax, Math.abs(ref[k]));
      }
      rel = got.length === ref.length && rmax > 0 ? dmax / rmax : NaN;
    }
    console.log(`ort ${name} ${median.toFixed(3)} ${rel.toExponential(2)}`);
    if (layers) {
      // the profile holds every run's node events, warm-ups first: keep
      // each node's last `runs` durations
      // (endProfiling's return value, the file's name, is not passed on by
      // every onnxruntime-node version: found by its prefix instead)
      session.endProfiling();
      const prefix = `ort-bench-${process.pid}_`;
      const found = readdirSync(tmpdir()).filter((f) => f.startsWith(prefix));
      if (found.length !== 1) throw new Error(`${found.length} profile files`);
      const file = join(tmpdir(), found[0]);
      const events = JSON.parse(readFileSync(file, 'utf8'));
      unlinkSync(file);
      const nodes = new Map();
      for (const e of events) {
        if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
        const key = e.name.slice(0, -'_kernel_time'.length);
        if (!nodes.has(key)) nodes.set(key, { op: e.args?.op_name ?? '?', us: [] });
        nodes.get(key).us.push(e.dur);
      }
      for (const [key, v] of nodes) {
        const us = v.us.slice(-runs).sort((a, b) => a - b);
        const ms = us[Math.floor(us.length / 2)] / 1000;
        console.log(`node ${name} ${v.op} ${ms.toFixed(4)} ${key}`);
      }
    }
    await session.release();
  } catch (e) {
    process.stderr.write(`ort-bench: ${name}: ${e.message}\n`);
    console.log(`ort ${name} nan error`);
  }
}
