#!/usr/bin/env node
// ONNX Runtime (npm onnxruntime-node) reference outputs for edgeai's model checks.
//
//   node ort_reference.js inputs MODEL OUTDIR [--seed N]
//       Seeded random inputs for every graph input, written as OUTDIR/<name>.npy: float inputs
//       standard normal, integer inputs 0, bool inputs false; symbolic dims become 1.
//   node ort_reference.js run MODEL OUTDIR NAME=FILE.npy [...] [--threads N] [--opt LEVEL]
//       Runs ONNX Runtime and writes OUTDIR/<output>.npy (names made file-safe like `edgeai run`:
//       '/', ':' and '\' become '_'). Prints one JSON line per output: name, dtype, shape, max |x|.
//   node ort_reference.js vad MODEL OUTDIR [WAV ...] [--synthetic] [--gap-ms MS] [--seed N]
//       Silero VAD v5 (inputs input [1,512] f32, state [2,1,128] f32, sr i64 scalar; outputs output
//       [1,1], stateN [2,1,128]) over 16 kHz audio cut into 512-sample frames, carrying stateN into
//       the next call's state. Audio: the given WAV files (PCM 8/16/24/32-bit or float, any rate,
//       mixed down to mono, resampled to 16 kHz here with a Blackman-windowed sinc), joined with
//       gaps of faint seeded noise (-60 dBFS); or, with --synthetic or no WAV, a generated signal of
//       voiced, syllable-shaped bursts and silence. Writes OUTDIR/: audio.npy [F,512] f32,
//       sr.npy i64 scalar, state0.npy, probs.npy [F] f32, states.npy [F,2,1,128] (state after each
//       frame), state_final.npy, silero_vad_v5.onnx (a copy of MODEL) and info.json.
//
// The .npy reader/writer below handles format versions 1-3, little-endian, C order.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

// ---------------------------------------------------------------------------------------- npy
const NPY_TYPES = {
  // descr -> [ort type, TypedArray]
  '<f4': ['float32', Float32Array],
  '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array],
  '<u8': ['uint64', BigUint64Array],
  '<i4': ['int32', Int32Array],
  '<u4': ['uint32', Uint32Array],
  '<i2': ['int16', Int16Array],
  '<u2': ['uint16', Uint16Array],
  '|i1': ['int8', Int8Array],
  '|u1': ['uint8', Uint8Array],
  '|b1': ['bool', Uint8Array],
};
const ORT_TO_DESCR = {};
for (const [d, [t]] of Object.entries(NPY_TYPES)) ORT_TO_DESCR[t] = d;

function npyBytes(type, shape, data) {
  const descr = ORT_TO_DESCR[type];
  if (!descr) throw new Error(`npy: unsupported dtype ${type}`);
  const shp = shape.length === 0 ? '()' : shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shp}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre, 0);  // \x93NUMPY v1.0
  pre.writeUInt16LE(header.length, 8);
  let body;
  if (type === 'bool') body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  else body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

function writeNpy(file, type, shape, data) {
  fs.writeFileSync(file, npyBytes(type, shape, data));
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf[0] !== 0x93 || buf.toString('latin1', 1, 6) !== 'NUMPY') {
    throw new Error(`${file}: not a .npy file`);
  }
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); off = 12; }
  else throw new Error(`${file}: npy version ${major} not supported`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', off, off + hlen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) throw new Error(`${file}: bad npy header ${header}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran order not supported`);
  const d = descr[1] === '<b1' ? '|b1' : descr[1].replace(/^=/, '<');
  if (!NPY_TYPES[d]) throw new Error(`${file}: dtype ${descr[1]} not supported`);
  const [type, Arr] = NPY_TYPES[d];
  const shape = shapeM[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const start = off + hlen;
  const bytes = buf.subarray(start, start + n * Arr.BYTES_PER_ELEMENT);
  if (bytes.length !== n * Arr.BYTES_PER_ELEMENT) throw new Error(`${file}: truncated data`);
  const copy = new Uint8Array(bytes);  // aligned copy
  let data = new Arr(copy.buffer, 0, n);
  if (type === 'bool') data = Array.from(data, (v) => v !== 0);
  return { type, shape, data };
}

// ------------------------------------------------------------------------------------ helpers
function fileSafe(name) {
  let s = name.replace(/[/:\\]/g, '_');
  if (s === '' || s === '.' || s === '..') s = '_' + s;
  return s;
}

// mulberry32: a small seeded PRNG, so inputs are reproducible without numpy.
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare = null;
  next.normal = () => {  // Box-Muller
    if (spare !== null) { const s = spare; spare = null; return s; }
    let u = 0;
    while (u === 0) u = next();
    const v = next();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return next;
}

function parseArgs(argv, flags) {
  // flags: {name: 'value'|'bool'}
  const pos = [];
  const opt = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      const kind = flags[k];
      if (!kind) throw new Error(`unknown option ${a}`);
      if (kind === 'bool') opt[k] = true;
      else if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      else opt[k] = argv[++i];
    } else pos.push(a);
  }
  return { pos, opt };
}

function sessionOptions(opt) {
  const threads = Number(opt.threads || 1);
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: opt.opt || 'all',
  };
}

function absMax(data) {
  let m = 0;
  for (const v of data) {
    const x = Math.abs(Number(v));
    if (x > m || Number.isNaN(x)) m = x;
  }
  return m;
}

const TYPED = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, uint64: BigUint64Array,
  int32: Int32Array, uint32: Uint32Array, int16: Int16Array, uint16: Uint16Array, int8: Int8Array,
  uint8: Uint8Array,
};

// ------------------------------------------------------------------------------------ commands
async function cmdInputs(argv) {
  const { pos, opt } = parseArgs(argv, { seed: 'value' });
  if (pos.length !== 2) throw new Error('usage: inputs MODEL OUTDIR [--seed N]');
  const [model, outdir] = pos;
  const session = await ort.InferenceSession.create(model);
  const next = rng(Number(opt.seed || 1234));
  fs.mkdirSync(outdir, { recursive: true });
  for (const m of session.inputMetadata) {
    if (!m.isTensor) throw new Error(`input ${m.name} is not a tensor`);
    const shape = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : 1));
    const n = shape.reduce((a, b) => a * b, 1);
    let data;
    if (m.type === 'float32' || m.type === 'float64') {
      data = new TYPED[m.type](n);
      for (let i = 0; i < n; i++) data[i] = next.normal();
    } else if (m.type === 'bool') {
      data = new Array(n).fill(false);
    } else if (TYPED[m.type]) {
      data = new TYPED[m.type](n);
    } else {
      throw new Error(`input ${m.name}: dtype ${m.type} not supported`);
    }
    const file = path.join(outdir, fileSafe(m.name) + '.npy');
    writeNpy(file, m.type, shape, data);
    console.log(JSON.stringify({ input: m.name, dtype: m.type, shape, file }));
  }
}

async function cmdRun(argv) {
  const { pos, opt } = parseArgs(argv, { threads: 'value', opt: 'value' });
  if (pos.length < 2) throw new Error('usage: run MODEL OUTDIR NAME=FILE.npy ...');
  const [model, outdir, ...specs] = pos;
  const feeds = {};
  for (const s of specs) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`input takes NAME=FILE, got '${s}'`);
    const t = readNpy(s.slice(eq + 1));
    feeds[s.slice(0, eq)] = new ort.Tensor(t.type, t.data, t.shape);
  }
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, sessionOptions(opt));
  const t1 = process.hrtime.bigint();
  const outs = await session.run(feeds);
  const t2 = process.hrtime.bigint();
  fs.mkdirSync(outdir, { recursive: true });
  for (const name of session.outputNames) {
    const o = outs[name];
    const file = path.join(outdir, fileSafe(name) + '.npy');
    writeNpy(file, o.type, o.dims, o.data);
    console.log(JSON.stringify({ output: name, dtype: o.type, shape: o.dims, abs_max: absMax(o.data), file,
                                 load_ms: Number(t1 - t0) / 1e6, run_ms: Number(t2 - t1) / 1e6 }));
  }
}

// ---- audio for the VAD
function readWav(file) {
  const b = fs.readFileSync(file);
  if (b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') {
    throw new Error(`${file}: not a RIFF/WAVE file`);
  }
  let off = 12, fmt = null, data = null;
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = b.subarray(off + 8, Math.min(b.length, off + 8 + size));
    if (id === 'fmt ') {
      fmt = { format: body.readUInt16LE(0), channels: body.readUInt16LE(2), rate: body.readUInt32LE(4),
              bits: body.readUInt16LE(14) };
      if (fmt.format === 0xfffe && body.length >= 26) fmt.format = body.readUInt16LE(24);  // extensible
    } else if (id === 'data') {
      data = body;
    }
    off += 8 + size + (size & 1);
  }
  if (!fmt || !data) throw new Error(`${file}: no fmt or data chunk`);
  const bps = fmt.bits / 8, frameBytes = bps * fmt.channels;
  const n = Math.floor(data.length / frameBytes);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let c = 0; c < fmt.channels; c++) {
      const p = i * frameBytes + c * bps;
      let v;
      if (fmt.format === 3 && fmt.bits === 32) v = data.readFloatLE(p);
      else if (fmt.format === 3 && fmt.bits === 64) v = data.readDoubleLE(p);
      else if (fmt.format === 1 && fmt.bits === 8) v = (data[p] - 128) / 128;
      else if (fmt.format === 1 && fmt.bits === 16) v = data.readInt16LE(p) / 32768;
      else if (fmt.format === 1 && fmt.bits === 24) v = data.readIntLE(p, 3) / 8388608;
      else if (fmt.format === 1 && fmt.bits === 32) v = data.readInt32LE(p) / 2147483648;
      else throw new Error(`${file}: WAV format ${fmt.format} with ${fmt.bits} bits not supported`);
      acc += v;
    }
    out[i] = acc / fmt.channels;
  }
  return { rate: fmt.rate, samples: out };
}

// Band-limited resampling: each output sample is the input convolved with a Blackman-windowed sinc
// low-pass at 0.95 x the lower Nyquist rate, 32 zero crossings each side.
function resample(x, from, to) {
  if (from === to) return Float64Array.from(x);
  const ratio = to / from;
  const fc = 0.95 * Math.min(1, ratio);  // cutoff, relative to the input's Nyquist
  const half = Math.ceil(32 / fc);       // taps each side, in input samples
  const n = Math.floor(x.length * ratio);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / ratio;  // position in input samples
    const k0 = Math.max(0, Math.ceil(t - half)), k1 = Math.min(x.length - 1, Math.floor(t + half));
    let acc = 0;
    for (let k = k0; k <= k1; k++) {
      const d = t - k;
      const u = fc * d;
      const sinc = u === 0 ? 1 : Math.sin(Math.PI * u) / (Math.PI * u);
      const w = 0.42 + 0.5 * Math.cos(Math.PI * d / half) + 0.08 * Math.cos(2 * Math.PI * d / half);
      acc += x[k] * fc * sinc * w;
    }
    y[i] = acc;
  }
  return y;
}

// Speech-like test signal: voiced bursts (a glottal-ish harmonic series with a wandering pitch,
// shaped by two formant resonances and a ~4 Hz syllable envelope) separated by silence.
function syntheticAudio(next, rate, seconds) {
  const n = Math.round(rate * seconds);
  const y = new Float64Array(n);
  let t = 0;
  while (t < n) {
    const silence = Math.round(rate * (0.3 + 0.7 * next()));
    for (let i = 0; i < silence && t < n; i++, t++) y[t] = 1e-3 * next.normal();
    const burst = Math.round(rate * (0.4 + 1.2 * next()));
    const f0 = 90 + 120 * next(), f1 = 300 + 500 * next(), f2 = 900 + 1500 * next();
    let phase = 0;
    for (let i = 0; i < burst && t < n; i++, t++) {
      const s = i / rate;
      const f = f0 * (1 + 0.1 * Math.sin(2 * Math.PI * 3 * s));
      phase += 2 * Math.PI * f / rate;
      let v = 0;
      for (let h = 1; h * f < rate / 2 && h <= 40; h++) {
        const hf = h * f;
        const g = 1 / (1 + ((hf - f1) / 120) ** 2) + 0.5 / (1 + ((hf - f2) / 200) ** 2);
        v += g * Math.sin(h * phase) / h;
      }
      const env = Math.sin(Math.PI * i / burst) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 4 * s));
      y[t] = 0.3 * env * v + 2e-3 * next.normal();
    }
  }
  return y;
}

async function cmdVad(argv) {
  const { pos, opt } = parseArgs(argv, { synthetic: 'bool', 'gap-ms': 'value', seed: 'value', threads: 'value',
                                         opt: 'value' });
  if (pos.length < 2) throw new Error('usage: vad MODEL OUTDIR [WAV ...] [--synthetic]');
  const [model, outdir, ...wavFiles] = pos;
  const RATE = 16000, FRAME = 512;
  const next = rng(Number(opt.seed || 1234));
  const gap = Math.round(RATE * Number(opt['gap-ms'] || 400) / 1000);
  const pieces = [];
  const sources = [];
  const wavs = opt.synthetic ? [] : wavFiles;
  for (const f of wavs) {
    const w = readWav(f);
    const g = new Float64Array(gap);
    for (let i = 0; i < gap; i++) g[i] = 1e-3 * next.normal();
    pieces.push(g, resample(w.samples, w.rate, RATE));
    sources.push({ file: f, rate: w.rate, seconds: w.samples.length / w.rate });
  }
  let audioKind = 'wav';
  if (pieces.length === 0) {
    pieces.push(syntheticAudio(next, RATE, 12));
    audioKind = 'synthetic';
  }
  const total = pieces.reduce((a, p) => a + p.length, 0);
  const frames = Math.ceil(total / FRAME);
  const audio = new Float32Array(frames * FRAME);  // zero-padded tail
  let o = 0;
  for (const p of pieces) { audio.set(Float32Array.from(p), o); o += p.length; }

  const session = await ort.InferenceSession.create(model, sessionOptions(opt));
  const STATE = [2, 1, 128];
  const stateN = 2 * 128;
  let state = new ort.Tensor('float32', new Float32Array(stateN), STATE);
  const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(RATE)]), []);
  const probs = new Float32Array(frames);
  const states = new Float32Array(frames * stateN);
  const t0 = process.hrtime.bigint();
  for (let f = 0; f < frames; f++) {
    const input = new ort.Tensor('float32', audio.slice(f * FRAME, (f + 1) * FRAME), [1, FRAME]);
    const out = await session.run({ input, state, sr });
    if (out.output.data.length !== 1) throw new Error(`frame ${f}: output has ${out.output.data.length} values`);
    if (out.stateN.data.length !== stateN) throw new Error(`frame ${f}: stateN has dims ${out.stateN.dims}`);
    probs[f] = out.output.data[0];
    states.set(out.stateN.data, f * stateN);
    state = new ort.Tensor('float32', Float32Array.from(out.stateN.data), STATE);
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.mkdirSync(outdir, { recursive: true });
  writeNpy(path.join(outdir, 'audio.npy'), 'float32', [frames, FRAME], audio);
  writeNpy(path.join(outdir, 'sr.npy'), 'int64', [], BigInt64Array.from([BigInt(RATE)]));
  writeNpy(path.join(outdir, 'state0.npy'), 'float32', STATE, new Float32Array(stateN));
  writeNpy(path.join(outdir, 'probs.npy'), 'float32', [frames], probs);
  writeNpy(path.join(outdir, 'states.npy'), 'float32', [frames, ...STATE], states);
  writeNpy(path.join(outdir, 'state_final.npy'), 'float32', STATE, states.subarray((frames - 1) * stateN));
  fs.copyFileSync(model, path.join(outdir, 'silero_vad_v5.onnx'));
  let speech = 0;
  for (const p of probs) if (p > 0.5) speech++;
  const info = {
    model: path.resolve(model), onnxruntime: require('onnxruntime-node/package.json').version,
    audio: audioKind, sources, sample_rate: RATE, frame: FRAME, frames,
    resampling: 'Blackman-windowed sinc, cutoff 0.95 x min Nyquist, 32 zero crossings each side (ort_reference.js)',
    gap_ms: audioKind === 'wav' ? Number(opt['gap-ms'] || 400) : undefined,
    speech_frames: speech, ort_ms: ms,
  };
  fs.writeFileSync(path.join(outdir, 'info.json'), JSON.stringify(info, null, 1) + '\n');
  console.log(JSON.stringify({ vad_frames: frames, speech_frames: speech, audio: audioKind, ort_ms: ms, outdir }));
}

async function main() {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === 'inputs') return cmdInputs(rest);
  if (cmd === 'run') return cmdRun(rest);
  if (cmd === 'vad') return cmdVad(rest);
  throw new Error('usage: ort_reference.js inputs|run|vad ... (see the comment at the top)');
}

main().catch((e) => {
  console.error(`ort_reference.js: ${e.message}`);
  process.exit(1);
});
