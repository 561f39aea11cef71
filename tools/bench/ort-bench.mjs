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
// Needs onnxruntime-node installed beside this file (tools/bench/package.json:
// `ONNXRUNTIME_NODE_INSTALL=skip npm install` there, or ./run bench --ort).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

let threads = 1, runs = 21, warmup = 3;
const rest = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--threads') threads = parseInt(argv[++i], 10);
  else if (argv[i] === '--runs') runs = parseInt(argv[++i], 10);
  else if (argv[i] === '--warmup') warmup = parseInt(argv[++i], 10);
  else rest.push(argv[i]);
}
const [dir, ...names] = rest;
if (!dir || names.length === 0) {
  process.stderr.write('usage: ort-bench.mjs [--threads N] [--runs N] [--warmup N] DIR NAME...\n');
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

for (const name of names) {
  try {
    const session = await ort.InferenceSession.create(join(dir, `${name}.onnx`), {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, 224, 224]) };
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
    await session.release();
  } catch (e) {
    process.stderr.write(`ort-bench: ${name}: ${e.message}\n`);
    console.log(`ort ${name} nan error`);
  }
}
