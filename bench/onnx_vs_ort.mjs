#!/usr/bin/env node
// edgeai against ONNX Runtime (npm onnxruntime-node) on the same machine, back to back.
//
// For each model of bench/export_models.py and each thread count, runs `edgeai bench --json` and
// ONNX Runtime's latency runner (ort_run.js, from ../shared/bench or bench/) alternately for
// several rounds, then prints and writes into BENCHMARKS.md: min and median latency of each
// (min over the rounds' minimums, median of the rounds' medians), the ratio edgeai / ORT (< 1:
// edgeai is faster), load time, and each one's model memory (peak RSS - RSS before loading) with
// the ratio. The machine's CPU model and flags, the date and the load average go in the header.
//
// Usage: node bench/onnx_vs_ort.mjs [options]
//   --cli PATH          edgeai binary (default build/bin/edgeai)
//   --models a,b,...    default: mobilenet_v2,resnet18,efficientnet_b0,squeezenet1_1,
//                       shufflenet_v2_x1_0,mlp,transformer
//   --threads 1,2       thread counts (default 1,2)
//   --rounds N          alternating rounds per model and thread count (default 3)
//   --iterations N      timed runs per round (default 50; each runner also stops after 10 s)
//   --warmup N          warm-up runs per round (default 5)
//   --files a.onnx,...  benchmark these model files instead of the exported models (for example
//                       the single-op models of bench/make_op_models.py); the report is then only
//                       printed unless --out is given
//   --edgeai-args "..." extra arguments for `edgeai bench` (for example "--mmap")
//   --out FILE          markdown report (default BENCHMARKS.md in the repository; "-" = none)
//   --rev REV           the edgeai commit the binary was built from, for the report (default:
//                       this checkout's HEAD)
// Environment: EDGEAI_MODEL_CACHE (exported models; default build/models, exported there with
//   /usr/bin/python3 export_models.py when missing), ORT_NODE_DIR (onnxruntime-node package;
//   default tests/models/node_modules/onnxruntime-node, installed by scripts/check_models.sh),
//   EDGEAI_BENCH_DIR (folder with ort_run.js and export_models.py; default bench/, then
//   ../shared/bench).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ALL_MODELS = ['mobilenet_v2', 'resnet18', 'efficientnet_b0', 'squeezenet1_1', 'shufflenet_v2_x1_0', 'mlp',
  'transformer'];

function parseArgs(argv) {
  const o = { cli: path.join(REPO, 'build/bin/edgeai'), models: ALL_MODELS, threads: [1, 2], rounds: 3,
    iterations: 50, warmup: 5, out: path.join(REPO, 'BENCHMARKS.md') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], v = argv[i + 1];
    const need = () => { if (v === undefined) { usage(`${a} needs a value`); } i++; return v; };
    if (a === '--cli') o.cli = path.resolve(need());
    else if (a === '--models') o.models = need().split(',').filter(Boolean);
    else if (a === '--threads') o.threads = need().split(',').map(Number);
    else if (a === '--rounds') o.rounds = parseInt(need(), 10);
    else if (a === '--iterations') o.iterations = parseInt(need(), 10);
    else if (a === '--warmup') o.warmup = parseInt(need(), 10);
    else if (a === '--out') { o.out = need(); o.outGiven = true; }
    else if (a === '--files') o.files = need().split(',').filter(Boolean).map((f) => path.resolve(f));
    else if (a === '--edgeai-args') o.edgeaiArgs = need().split(' ').filter(Boolean);
    else if (a === '--rev') o.rev = need();
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  for (const m of o.models) if (!ALL_MODELS.includes(m)) usage(`unknown model ${m} (known: ${ALL_MODELS.join(' ')})`);
  if (o.files) {
    for (const f of o.files) if (!fs.existsSync(f)) usage(`no such model file ${f}`);
    if (!o.outGiven) o.out = '-';
  }
  if (!o.threads.every((t) => Number.isInteger(t) && t > 0)) usage('--threads takes positive integers');
  if (!(o.rounds > 0 && o.iterations > 0 && o.warmup >= 0)) usage('--rounds and --iterations must be positive');
  return o;
}

function usage(msg) {
  const text = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  const help = text.slice(1, text.findIndex((l) => l.startsWith('import'))).map((l) => l.replace(/^\/\/ ?/, ''));
  if (msg) console.error(`onnx_vs_ort: ${msg}`);
  console.error(help.join('\n'));
  process.exit(msg ? 2 : 0);
}

function findBenchDir() {
  const c = [process.env.EDGEAI_BENCH_DIR, path.join(REPO, 'bench'), path.join(REPO, '..', 'shared', 'bench')];
  for (const d of c) if (d && fs.existsSync(path.join(d, 'ort_run.js'))) return d;
  console.error('onnx_vs_ort: ort_run.js not found (bench/, ../shared/bench, or set EDGEAI_BENCH_DIR)');
  process.exit(2);
}

function ensureModels(cache, models, benchDir) {
  const missing = models.filter((m) => !fs.existsSync(path.join(cache, `${m}.onnx`)));
  if (!missing.length) return;
  console.log(`exporting ${missing.join(' ')} into ${cache} ...`);
  fs.mkdirSync(cache, { recursive: true });
  execFileSync('/usr/bin/python3', [path.join(benchDir, 'export_models.py'), cache], { stdio: 'inherit' });
  for (const m of models) {
    if (!fs.existsSync(path.join(cache, `${m}.onnx`))) { console.error(`onnx_vs_ort: export of ${m} failed`); process.exit(2); }
  }
}

function lastJson(text, prefix = '') {
  const lines = text.split('\n').filter((l) => l.startsWith(prefix + '{'));
  if (!lines.length) return null;
  return JSON.parse(lines[lines.length - 1].slice(prefix.length));
}

function runEdgeai(o, model, threads) {
  const r = spawnSync(o.cli, ['bench', model, '--threads', String(threads), '--iterations', String(o.iterations),
    '--warmup', String(o.warmup), '--max-seconds', '10', '--json', ...(o.edgeaiArgs || [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`edgeai bench ${model} failed: ${r.stderr || r.stdout}`);
  const j = lastJson(r.stdout);
  return { min: j.latency_ms.min, median: j.latency_ms.median, load: j.load_ms, first: j.first_run_ms,
    rss: j.model_rss_bytes / 1048576, nodes: j.nodes };
}

function runOrt(o, benchDir, ortDir, model, threads) {
  const r = spawnSync('node', [path.join(benchDir, 'ort_run.js'), model, String(threads), String(o.iterations),
    String(o.warmup)], { encoding: 'utf8', env: { ...process.env, ORT_NODE_DIR: ortDir, BENCH_MAX_S: '10' } });
  if (r.status !== 0) throw new Error(`ort_run.js ${model} failed: ${r.stderr || r.stdout}`);
  const j = lastJson(r.stdout, 'JSON ');
  return { min: j.min_ms, median: j.median_ms, load: j.load_ms, rss: j.peak_rss_mb - j.base_rss_mb, version: j.ort };
}

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

function summarize(runs) {
  return { min: Math.min(...runs.map((r) => r.min)), median: median(runs.map((r) => r.median)),
    load: median(runs.map((r) => r.load)), rss: median(runs.map((r) => r.rss)),
    first: runs[0].first === undefined ? undefined : median(runs.map((r) => r.first)) };
}

function cpuInfo() {
  const text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const field = (k) => (text.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm')) || [])[1] || '?';
  const flags = field('flags').split(/\s+/);
  const simd = flags.filter((f) => /^(avx|avx2|fma|f16c|avx512.*|avx_vnni|amx.*)$/.test(f) || f === 'asimd' || f === 'asimddp');
  return { model: field('model name'), simd, cores: os.cpus().length };
}

const fmtMs = (v) => (v >= 1 ? v.toFixed(2) : v.toFixed(3));
const fmtRatio = (v) => (Number.isFinite(v) ? v.toFixed(2) : '-');

function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(o.cli)) { console.error(`onnx_vs_ort: no edgeai binary at ${o.cli} (build it, or pass --cli)`); process.exit(2); }
  const benchDir = findBenchDir();
  const cache = path.resolve(process.env.EDGEAI_MODEL_CACHE || path.join(REPO, 'build/models'));
  const ortDir = path.resolve(process.env.ORT_NODE_DIR || path.join(REPO, 'tests/models/node_modules/onnxruntime-node'));
  if (!fs.existsSync(ortDir)) {
    console.error(`onnx_vs_ort: onnxruntime-node not found at ${ortDir} (run scripts/check_models.sh once, or set ORT_NODE_DIR)`);
    process.exit(2);
  }
  if (!o.files) ensureModels(cache, o.models, benchDir);
  const models = o.files ? o.files.map((f) => ({ name: path.basename(f, '.onnx'), file: f }))
    : o.models.map((m) => ({ name: m, file: path.join(cache, `${m}.onnx`) }));
  const cpu = cpuInfo();
  const started = new Date();
  const load0 = os.loadavg();
  console.log(`CPU: ${cpu.model}, ${cpu.cores} logical cores, ${cpu.simd.join(' ')}`);
  console.log(`load average at start: ${load0.map((x) => x.toFixed(2)).join(' ')}`);
  const rows = [];
  let ortVersion = '?';
  for (const { name: m, file: model } of models) {
    for (const t of o.threads) {
      const e = [], r = [];
      for (let k = 0; k < o.rounds; k++) {  // alternate, edgeai first, so drift hits both alike
        e.push(runEdgeai(o, model, t));
        const ort = runOrt(o, benchDir, ortDir, model, t);
        ortVersion = ort.version;
        r.push(ort);
      }
      const se = summarize(e), sr = summarize(r);
      const row = { model: m, threads: t, e: se, r: sr, nodes: e[0].nodes,
        ratioMin: se.min / sr.min, ratioMedian: se.median / sr.median, ratioRss: se.rss / sr.rss };
      rows.push(row);
      console.log(`${m.padEnd(19)} t=${t}  edgeai min ${fmtMs(se.min)} med ${fmtMs(se.median)} ms | ORT min ${fmtMs(sr.min)} ` +
        `med ${fmtMs(sr.median)} ms | edgeai/ORT ${fmtRatio(row.ratioMin)} (min) ${fmtRatio(row.ratioMedian)} (median) | ` +
        `model RSS ${se.rss.toFixed(1)} / ${sr.rss.toFixed(1)} MB = ${fmtRatio(row.ratioRss)}`);
    }
  }
  const load1 = os.loadavg();
  if (o.out === '-') return;

  let rev = o.rev || '?';
  if (!o.rev) try { rev = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
  const L = [];
  L.push('# Benchmarks: edgeai vs ONNX Runtime (CPU, fp32)', '');
  L.push('Generated by `node bench/onnx_vs_ort.mjs` (edgeai `bench --json` and ONNX Runtime\'s `ort_run.js`, run back to');
  L.push('back on the same machine, alternating, several rounds). Ratios are edgeai / ONNX Runtime: below 1 means edgeai');
  L.push('is faster (latency) or smaller (memory).', '');
  L.push(`- date: ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC; edgeai commit ${rev}; ONNX Runtime ${ortVersion} (npm onnxruntime-node)`);
  L.push(`- CPU: ${cpu.model}, ${cpu.cores} logical cores; SIMD flags: ${cpu.simd.join(' ')}`);
  L.push(`- threads: ${o.threads.join(', ')}; ${o.rounds} rounds per model and thread count, each ${o.warmup} warm-up + up to ${o.iterations} timed runs (10 s cap)`);
  L.push(`- load average ${load0.map((x) => x.toFixed(1)).join(' / ')} at the start, ${load1.map((x) => x.toFixed(1)).join(' / ')} at the end` +
    ' (this machine is shared; min is the steadier figure)');
  L.push(o.files ? `- models: ${o.files.map((f) => path.basename(f)).join(', ')}` : '- models: bench/export_models.py (torchvision with seeded random weights, batch 1; MLP 784-512-256-10; 4-layer transformer encoder d 256, seq 128)');
  if (o.edgeaiArgs) L.push(`- edgeai bench arguments: ${o.edgeaiArgs.join(' ')}`);
  L.push('- latency: min = the fastest run of all rounds; median = the median of the rounds\' medians');
  L.push('- model RSS: peak resident memory minus the resident memory before loading (VmHWM - VmRSS for edgeai; maxRSS - rss at start for ORT under Node)');
  L.push('- load: parse + graph passes + session; edgeai\'s includes packing each conv\'s weights for the path its plane takes (one run on zeros at session creation, where the input shapes are fixed), as ORT\'s includes its prepacking; edgeai\'s first run in brackets');
  L.push('');
  L.push('| model | threads | edgeai min ms | edgeai median ms | ORT min ms | ORT median ms | ratio min | ratio median | edgeai model RSS MB | ORT model RSS MB | RSS ratio | edgeai load ms (first run) | ORT load ms | nodes (after passes) |');
  L.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const w of rows) {
    L.push(`| ${w.model} | ${w.threads} | ${fmtMs(w.e.min)} | ${fmtMs(w.e.median)} | ${fmtMs(w.r.min)} | ${fmtMs(w.r.median)} | ` +
      `${fmtRatio(w.ratioMin)} | ${fmtRatio(w.ratioMedian)} | ${w.e.rss.toFixed(1)} | ${w.r.rss.toFixed(1)} | ${fmtRatio(w.ratioRss)} | ` +
      `${w.e.load.toFixed(0)}${w.e.first === undefined ? '' : ` (${w.e.first.toFixed(0)})`} | ${w.r.load.toFixed(0)} | ${w.nodes.model} -> ${w.nodes.optimized} |`);
  }
  L.push('');
  const out = path.resolve(o.out);
  const prev = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  const notes = prev.indexOf('\n## Notes');
  fs.writeFileSync(out, L.join('\n') + (notes >= 0 ? prev.slice(notes) : ''));
  console.log(`wrote ${out}`);
}

main();
