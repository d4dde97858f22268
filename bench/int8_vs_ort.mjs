#!/usr/bin/env node
// int8 QDQ: edgeai fp32, edgeai int8, ONNX Runtime int8 and ONNX Runtime fp32, back to back on the
// same machine, alternating, several rounds; prints min and median latency of each and the ratios
// edgeai int8 / edgeai fp32 and edgeai int8 / ORT int8 (< 1: edgeai int8 is faster), and writes
// them as the "## int8 QDQ" section of BENCHMARKS.md (replaced where it is, the other sections
// left as they are; appended when there is none).
//
// The int8 models are the fp32 exports of bench/export_models.py quantized by
// ../shared/bench/int8/quantize_qdq.py (onnxruntime's QDQ layout: per-channel s8 weights, u8
// activations, min/max calibration on seeded random inputs), made once into the model cache as
// <model>_int8.onnx. A missing fp32 model is exported first with export_models.py (as
// bench/onnx_vs_ort.mjs does); "transformer" is its 4-layer encoder (d 256, seq 128), whose
// quantized MatMuls (in_proj, the feed-forward) run as QLinearMatMul and its out_proj Gemm as a
// QLinearConv of rows; attention's QK^T and PV stay float.
//
// Usage: node bench/int8_vs_ort.mjs [options]
//   --cli PATH          edgeai binary (default build/bin/edgeai)
//   --models a,b,...    default: mobilenet_v2,resnet18,squeezenet1_1,efficientnet_b0,transformer
//   --threads 1,2       thread counts (default 1,2)
//   --rounds N          alternating rounds per model and thread count (default 3)
//   --iterations N      timed runs per round (default 30; each runner also stops after 10 s)
//   --warmup N          warm-up runs per round (default 5)
//   --out FILE          markdown report (default BENCHMARKS.md; "-" = none)
// Environment: EDGEAI_MODEL_CACHE (default build/models), ORT_NODE_DIR (default
//   tests/models/node_modules/onnxruntime-node), EDGEAI_BENCH_DIR (folder with ort_run.js and
//   int8/quantize_qdq.py; default bench/, then ../shared/bench).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_MODELS = ['mobilenet_v2', 'resnet18', 'squeezenet1_1', 'efficientnet_b0', 'transformer'];

function usage(msg) {
  const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const help = text.slice(1, text.findIndex((l) => l.startsWith('import'))).map((l) => l.replace(/^\/\/ ?/, ''));
  if (msg) console.error(`int8_vs_ort: ${msg}`);
  console.error(help.join('\n'));
  process.exit(msg ? 2 : 0);
}

function parseArgs(argv) {
  const o = { cli: path.join(REPO, 'build/bin/edgeai'), models: DEFAULT_MODELS, threads: [1, 2], rounds: 3,
    iterations: 30, warmup: 5, out: path.join(REPO, 'BENCHMARKS.md') };
  const flags = { '--cli': (v) => { o.cli = path.resolve(v); }, '--models': (v) => { o.models = v.split(','); },
    '--threads': (v) => { o.threads = v.split(',').map(Number); }, '--rounds': (v) => { o.rounds = +v; },
    '--iterations': (v) => { o.iterations = +v; }, '--warmup': (v) => { o.warmup = +v; }, '--out': (v) => { o.out = v; } };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-h' || argv[i] === '--help') usage();
    const f = flags[argv[i]];
    if (!f) usage(`unknown argument ${argv[i]}`);
    if (argv[i + 1] === undefined) usage(`${argv[i]} needs a value`);
    f(argv[++i]);
  }
  if (!o.threads.every((t) => Number.isInteger(t) && t > 0)) usage('--threads takes positive integers');
  if (!(o.rounds > 0 && o.iterations > 0 && o.warmup >= 0)) usage('--rounds and --iterations must be positive');
  return o;
}

const benchDirs = () => [process.env.EDGEAI_BENCH_DIR, path.join(REPO, 'bench'), path.join(REPO, '..', 'shared', 'bench')];
function findFile(rel) {
  for (const d of benchDirs()) if (d && fs.existsSync(path.join(d, rel))) return path.join(d, rel);
  console.error(`int8_vs_ort: ${rel} not found (bench/, ../shared/bench, or set EDGEAI_BENCH_DIR)`);
  process.exit(2);
}

function lastJson(text, prefix = '') {
  const lines = text.split('\n').filter((l) => l.startsWith(prefix + '{'));
  return lines.length ? JSON.parse(lines[lines.length - 1].slice(prefix.length)) : null;
}

function runEdgeai(o, model, threads) {
  const r = spawnSync(o.cli, ['bench', model, '--threads', String(threads), '--iterations', String(o.iterations),
    '--warmup', String(o.warmup), '--max-seconds', '10', '--json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`edgeai bench ${model} failed: ${r.stderr || r.stdout}`);
  const j = lastJson(r.stdout);
  return { min: j.latency_ms.min, median: j.latency_ms.median };
}

function runOrt(o, ortRun, ortDir, model, threads) {
  const r = spawnSync('node', [ortRun, model, String(threads), String(o.iterations), String(o.warmup)],
    { encoding: 'utf8', env: { ...process.env, ORT_NODE_DIR: ortDir, BENCH_MAX_S: '10' } });
  if (r.status !== 0) throw new Error(`ort_run.js ${model} failed: ${r.stderr || r.stdout}`);
  const j = lastJson(r.stdout, 'JSON ');
  return { min: j.min_ms, median: j.median_ms, version: j.ort };
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summarize = (runs) => ({ min: Math.min(...runs.map((r) => r.min)), median: median(runs.map((r) => r.median)) });
const fmt = (v) => (v >= 1 ? v.toFixed(2) : v.toFixed(3));
const ratio = (a, b) => `${(a.min / b.min).toFixed(2)} / ${(a.median / b.median).toFixed(2)}`;

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.cli)) usage(`no edgeai binary at ${o.cli}`);
  const cache = path.resolve(process.env.EDGEAI_MODEL_CACHE || path.join(REPO, 'build/models'));
  const ortDir = path.resolve(process.env.ORT_NODE_DIR || path.join(REPO, 'tests/models/node_modules/onnxruntime-node'));
  if (!fs.existsSync(ortDir)) usage(`onnxruntime-node not found at ${ortDir} (run scripts/check_models.sh once, or set ORT_NODE_DIR)`);
  const ortRun = findFile('ort_run.js');
  const quantizer = findFile('int8/quantize_qdq.py');
  const missing = o.models.filter((m) => !fs.existsSync(path.join(cache, `${m}.onnx`)));
  if (missing.length) {
    console.log(`exporting ${missing.join(' ')} into ${cache} ...`);
    fs.mkdirSync(cache, { recursive: true });
    execFileSync('/usr/bin/python3', [findFile('export_models.py'), cache], { stdio: 'inherit' });
  }
  for (const m of o.models) {
    const fp32 = path.join(cache, `${m}.onnx`), int8 = path.join(cache, `${m}_int8.onnx`);
    if (!fs.existsSync(fp32)) usage(`${fp32} missing (export_models.py did not make it)`);
    if (!fs.existsSync(int8)) {
      execFileSync('/usr/bin/python3', [quantizer, fp32, int8], { stdio: 'inherit', env: { ...process.env, ORT_NODE_DIR: ortDir } });
    }
  }
  const started = new Date(), load0 = os.loadavg();
  console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const rows = [];
  let version = '?';
  for (const m of o.models) {
    const fp32 = path.join(cache, `${m}.onnx`), int8 = path.join(cache, `${m}_int8.onnx`);
    for (const t of o.threads) {
      const ef = [], ei = [], ri = [], rf = [];
      for (let k = 0; k < o.rounds; k++) {
        ef.push(runEdgeai(o, fp32, t));
        ei.push(runEdgeai(o, int8, t));
        const r = runOrt(o, ortRun, ortDir, int8, t);
        version = r.version;
        ri.push(r);
        rf.push(runOrt(o, ortRun, ortDir, fp32, t));
      }
      const w = { m, t, ef: summarize(ef), ei: summarize(ei), ri: summarize(ri), rf: summarize(rf) };
      rows.push(w);
      console.log(`${m.padEnd(16)} t=${t} edgeai fp32 ${fmt(w.ef.min)}/${fmt(w.ef.median)} int8 ${fmt(w.ei.min)}/${fmt(w.ei.median)} | ` +
        `ORT int8 ${fmt(w.ri.min)}/${fmt(w.ri.median)} fp32 ${fmt(w.rf.min)}/${fmt(w.rf.median)} ms (min/median) | ` +
        `edgeai int8/fp32 ${ratio(w.ei, w.ef)} | edgeai int8/ORT int8 ${ratio(w.ei, w.ri)}`);
    }
  }
  const load1 = os.loadavg();
  if (o.out === '-') return;
  let rev = '?';
  try { rev = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* no checkout */ }
  const L = ['## int8 QDQ: edgeai vs ONNX Runtime', ''];
  L.push('Generated by `node bench/int8_vs_ort.mjs`: edgeai fp32, edgeai int8, ORT int8 and ORT fp32 run back to back,');
  L.push('alternating, on the QDQ models of `../shared/bench/int8/quantize_qdq.py` (per-channel s8 weights, u8 activations).');
  L.push('Each cell is min / median ms (min over the rounds, median of the rounds\' medians); ratios the same way.', '');
  L.push(`- date: ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC; edgeai commit ${rev}; ONNX Runtime ${version}; ` +
    `${o.rounds} rounds of ${o.warmup} warm-up + up to ${o.iterations} runs`);
  L.push(`- load average ${load0.map((x) => x.toFixed(1)).join(' / ')} at the start, ${load1.map((x) => x.toFixed(1)).join(' / ')} at the end (shared machine: min is the steadier figure)`);
  L.push('');
  L.push('| model | threads | edgeai fp32 | edgeai int8 | ORT int8 | ORT fp32 | edgeai int8 / edgeai fp32 | edgeai int8 / ORT int8 |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const w of rows) {
    L.push(`| ${w.m} | ${w.t} | ${fmt(w.ef.min)} / ${fmt(w.ef.median)} | ${fmt(w.ei.min)} / ${fmt(w.ei.median)} | ` +
      `${fmt(w.ri.min)} / ${fmt(w.ri.median)} | ${fmt(w.rf.min)} / ${fmt(w.rf.median)} | ${ratio(w.ei, w.ef)} | ${ratio(w.ei, w.ri)} |`);
  }
  L.push('');
  const out = path.resolve(o.out);
  const prev = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  // The section replaces the previous one in place (the sections after it stay), or goes at the end.
  const at = prev.indexOf('\n## int8 QDQ');
  if (at >= 0) {
    const next = prev.indexOf('\n## ', at + 1);
    const tail = next >= 0 ? prev.slice(next) : '';
    fs.writeFileSync(out, `${prev.slice(0, at)}\n${L.join('\n')}${tail}`);
  } else {
    fs.writeFileSync(out, `${prev.replace(/\n*$/, '')}\n\n${L.join('\n')}`);
  }
  console.log(`wrote ${out}`);
}

main();
