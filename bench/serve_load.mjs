// Load test of `edgeai serve`: N concurrent clients send completions for D seconds against the
// given language model, once per --parallel value, after --warmup seconds of the same load (RSS
// grows for about a minute while the HTTP threads' stacks and malloc arenas are first touched);
// prints requests, failures, generated tokens/s, the CPU seconds the server and this client used
// in the measured window (and tokens per server CPU second, which the machine's other load moves
// less than tokens/s), the server's VmRSS (sampled every second: after
// warm-up, max, end, every 10 s), the ratio of tokens/s
// to the first --parallel value, and the time to first streamed token against the time of a
// prompt-processing pass plus one token. latency_ms: p50, p99 and max over every request of the
// measured window, failed ones included (a request that hangs shows here even when it ends in time).
//
// usage: node bench/serve_load.mjs --cli build/bin/edgeai --model stories260K.gguf
//          [--parallel 1,4] [--clients 64] [--seconds 60] [--warmup 40] [--max-tokens 256] [--threads 0 (one per core)]
//          [--client build/bin/serve_load_client] [--max-queue N (2 x clients)] [--http-threads N (server's default)]
// --client: the load comes from that C++ program (bench/serve_load_client.cc: the same requests
// and seeds from threads, much less CPU than node's clients); client_cpu_s is then its CPU time
// plus this script's.
// No npm packages (Node's fetch). Exits 1 when a request failed.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

const opt = { parallel: '1,4', clients: '64', seconds: '60', 'max-tokens': '256', threads: '0', warmup: '40' };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!opt.cli || !opt.model) {
  console.error('usage: node bench/serve_load.mjs --cli EDGEAI --model MODEL.gguf [--parallel 1,4] [--clients 64] [--seconds 60]');
  process.exit(2);
}
const prompts = ['Once upon a time', 'The little dog', 'Lily and Tom went to the park', 'One day, a big bird',
  'There was a girl who liked to play with her ball', 'The sun was shining'];

// CPU seconds (user + system) the process has used so far, from /proc/PID/stat.
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');  // fields from the 3rd (state) on
    return (Number(rest[11]) + Number(rest[12])) / 100;  // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return NaN;
  }
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function start(parallel) {
  const proc = spawn(opt.cli, ['serve', '--model', `story=${opt.model}`, '--port', '0', '--parallel', String(parallel),
    '--threads', opt.threads, '--max-queue', opt['max-queue'] ?? String(2 * Number(opt.clients)),
    ...(opt['http-threads'] ? ['--http-threads', opt['http-threads']] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error('server start timed out')), 30000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return { proc, base: `http://127.0.0.1:${port}` };
}

async function completion(base, body) {
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(120000),
  });
  const j = JSON.parse(await r.text());
  if (r.status !== 200 || !j.usage) throw new Error(`status ${r.status}: ${JSON.stringify(j).slice(0, 200)}`);
  return j;
}

// The load from the C++ client (--client): its JSON line as load()'s stats.
async function externalLoad(base, seconds) {
  const proc = spawn(opt.client, ['--url', base, '--seconds', String(seconds), '--clients', opt.clients,
    '--max-tokens', opt['max-tokens']], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  const code = await new Promise((res) => proc.on('exit', res));
  if (code !== 0) throw new Error(`${opt.client} exited ${code}`);
  const j = JSON.parse(out);
  return { requests: j.requests, failures: j.failures, tokens: j.tokens, client_cpu_s: j.client_cpu_s,
    latency_ms: j.latency_ms, errors: new Map(Object.entries(j.errors ?? {})) };
}

async function load(base, pid, seconds, record) {
  const end = Date.now() + seconds * 1000;
  const stats = { requests: 0, failures: 0, tokens: 0, errors: new Map() };
  const latencies = [];
  let seed = 1;
  const client = async () => {
    while (Date.now() < end) {
      const r0 = performance.now();
      try {
        const j = await completion(base, { model: 'story', prompt: prompts[seed % prompts.length], max_tokens: Number(opt['max-tokens']), temperature: 0.8, seed: seed++ });
        if (record) {
          stats.requests++;
          stats.tokens += j.usage.completion_tokens;
        }
      } catch (e) {
        stats.failures++;
        stats.errors.set(e.message, (stats.errors.get(e.message) ?? 0) + 1);
      }
      latencies.push(performance.now() - r0);
    }
  };
  const rss = [];
  const sampler = setInterval(() => rss.push(rssMiB(pid)), 1000);
  const t0 = Date.now();
  const cpu0 = cpuSeconds(pid), own0 = process.cpuUsage();
  let external = null;
  if (opt.client) {
    external = await externalLoad(base, seconds);
    if (record) Object.assign(stats, { requests: external.requests, failures: external.failures, tokens: external.tokens,
      errors: external.errors });
    else stats.failures = external.failures;
  } else {
    await Promise.all(Array.from({ length: Number(opt.clients) }, client));
    latencies.sort((a, b) => a - b);
    const pct = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    stats.latency_ms = { p50: pct(0.5), p99: pct(0.99), max: latencies.at(-1) ?? 0 };
  }
  if (external && record) stats.latency_ms = external.latency_ms;
  clearInterval(sampler);
  stats.seconds = (Date.now() - t0) / 1000;
  stats.server_cpu_s = cpuSeconds(pid) - cpu0;
  const own = process.cpuUsage(own0);
  stats.client_cpu_s = (own.user + own.system) / 1e6 + (external ? external.client_cpu_s : 0);
  stats.rss = rss;
  return stats;
}

async function firstTokenCheck(base) {
  // A ~200-token prompt; times are medians of 9 runs on an idle server.
  const prompt = 'Once upon a time, there was a little girl named Lily. She loved to play outside. '.repeat(10);
  const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const ttft = [], one = [], per = [];
  for (let i = 0; i < 9; i++) {
    let t = performance.now();
    await completion(base, { model: 'story', prompt, max_tokens: 1, temperature: 0 });
    one.push(performance.now() - t);
    t = performance.now();
    const j = await completion(base, { model: 'story', prompt, max_tokens: 101, temperature: 0 });
    per.push((performance.now() - t - one[one.length - 1]) / Math.max(1, j.usage.completion_tokens - 1));
    t = performance.now();
    const r = await fetch(`${base}/v1/completions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'story', prompt, max_tokens: 100, temperature: 0, stream: true }),
    });
    const reader = r.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let got = null;
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      if (got === null && /"text":"[^"]/.test(buf)) got = performance.now() - t;
    }
    ttft.push(got);
  }
  return { ttft: med(ttft), prompt_plus_one: med(one), per_token: med(per) };
}

const results = [];
for (const p of opt.parallel.split(',').map(Number)) {
  const { proc, base } = await start(p);
  try {
    await load(base, proc.pid, Number(opt.warmup), false);
    const s = await load(base, proc.pid, Number(opt.seconds), true);
    const tps = s.tokens / s.seconds;
    const warm = s.rss.slice(Math.min(5, s.rss.length - 1));
    const line = {
      parallel: p, clients: Number(opt.clients), seconds: Number(s.seconds.toFixed(1)), requests: s.requests, failures: s.failures,
      tokens: s.tokens, tokens_per_s: Number(tps.toFixed(1)), requests_per_s: Number((s.requests / s.seconds).toFixed(1)),
      server_cpu_s: Number(s.server_cpu_s.toFixed(1)), tokens_per_server_cpu_s: Number((s.tokens / s.server_cpu_s).toFixed(1)),
      client_cpu_s: Number(s.client_cpu_s.toFixed(1)),
      latency_ms: Object.fromEntries(Object.entries(s.latency_ms ?? {}).map(([k, v]) => [k, Number(v.toFixed(1))])),
      rss_mib_after_warmup: Number(warm[0]?.toFixed(1)), rss_mib_max: Number(Math.max(...warm).toFixed(1)),
      rss_mib_end: Number(s.rss[s.rss.length - 1]?.toFixed(1)),
      rss_mib_every_10s: s.rss.filter((_, i) => i % 10 === 9).map((v) => Number(v.toFixed(1))),
    };
    if (s.failures) line.errors = Object.fromEntries(s.errors);
    if (results.length === 0) Object.assign(line, await firstTokenCheck(base));
    results.push(line);
    console.log(JSON.stringify(line));
  } finally {
    proc.kill('SIGTERM');
    await new Promise((res) => proc.on('exit', res));
  }
}
if (results.length > 1) console.log(`tokens/s ratio parallel ${results.at(-1).parallel} / ${results[0].parallel}: ${(results.at(-1).tokens_per_s / results[0].tokens_per_s).toFixed(2)}x`);
process.exit(results.some((r) => r.failures) ? 1 : 0);
