// edgeai serve driven by the official openai npm client (and fetch for /v1/infer, which the
// client has no call for). Starts the server on a free loopback port (--port 0, the port is read
// from its first line), runs every check, then sends SIGTERM and expects exit code 0. Every wait
// has a timeout and the server is killed on any failure.
//
// usage: node serve_test.mjs --cli EDGEAI --llm STORIES.gguf --onnx DIGITS.onnx --digits DIR
//   DIR holds test_images.npy and test_logits_pytorch.npy (the oracle for /v1/infer).
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import OpenAI from 'openai';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['cli', 'llm', 'onnx', 'digits']) {
  if (!args[k]) {
    console.error(`serve_test.mjs: --${k} is required`);
    process.exit(2);
  }
}
const KEY = 'sk-edgeai-test-key';
let server = null;
let failures = 0;
let passes = 0;

const watchdog = setTimeout(() => {
  console.error('FAIL: the test run took more than 150 s');
  if (server) server.kill('SIGKILL');
  process.exit(1);
}, 150000);

function check(cond, what, detail = '') {
  if (cond) {
    passes++;
    console.log(`PASS ${what}`);
  } else {
    failures++;
    console.log(`FAIL ${what}${detail ? ': ' + detail : ''}`);
  }
}

async function expectStatus(promise, status, what, code) {
  try {
    await promise;
    check(false, what, 'no error');
  } catch (e) {
    const ok = e.status === status && (code === undefined || e.code === code || e.error?.code === code);
    check(ok, `${what} -> ${status}${code ? ' ' + code : ''}`, `got ${e.status} ${e.code ?? ''} ${e.message}`);
  }
}

function withTimeout(p, ms, what) {
  return Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms))]);
}

// .npy (version 1, little-endian f4/f8, C order) to {shape, data}.
function readNpy(buf) {
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const body = buf.subarray(10 + hlen);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = [];
  for (let i = 0; i < n; i++) data.push(descr === '<f8' ? body.readDoubleLE(i * 8) : body.readFloatLE(i * 4));
  return { shape, data, descr };
}

function npyBytes(shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const out = Buffer.alloc(10 + header.length + data.length * 4);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  data.forEach((v, i) => out.writeFloatLE(v, 10 + header.length + i * 4));
  return out;
}

// The schema subset the server supports, checked independently of the server's matcher.
function validate(schema, v, path = '$') {
  if (schema.enum) return schema.enum.some((e) => e === v) ? [] : [`${path}: ${JSON.stringify(v)} not in enum`];
  switch (schema.type) {
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return [`${path}: not an object`];
      const errs = [];
      for (const r of schema.required ?? []) if (!(r in v)) errs.push(`${path}.${r}: missing`);
      for (const [k, x] of Object.entries(v)) {
        if (!schema.properties?.[k]) errs.push(`${path}.${k}: not allowed`);
        else errs.push(...validate(schema.properties[k], x, `${path}.${k}`));
      }
      return errs;
    }
    case 'array':
      if (!Array.isArray(v)) return [`${path}: not an array`];
      if (schema.maxItems !== undefined && v.length > schema.maxItems) return [`${path}: too many items`];
      return v.flatMap((x, i) => validate(schema.items ?? {}, x, `${path}[${i}]`));
    case 'string':
      if (typeof v !== 'string') return [`${path}: not a string`];
      return schema.maxLength !== undefined && v.length > schema.maxLength ? [`${path}: too long`] : [];
    case 'integer':
      return Number.isInteger(v) ? [] : [`${path}: not an integer`];
    case 'number':
      return typeof v === 'number' ? [] : [`${path}: not a number`];
    case 'boolean':
      return typeof v === 'boolean' ? [] : [`${path}: not a boolean`];
    default:
      return [];
  }
}

async function startServer(extra = null) {
  const proc = spawn(args.cli, extra ?? ['serve', '--model', `story=${args.llm}`, '--model', `digits=${args.onnx}`, '--port', '0',
    '--api-key', KEY, '--threads', '1', '--parallel', '2', '--max-body', '65536', '--shutdown-grace', '5'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr.on('data', (d) => process.stderr.write(`[server] ${d}`));
  const port = await withTimeout(new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
    proc.on('error', (e) => reject(e));
  }), 30000, 'server start');
  return { proc, port };
}

async function main() {
  const s = await startServer();
  server = s.proc;
  const base = `http://127.0.0.1:${s.port}`;
  const client = new OpenAI({ apiKey: KEY, baseURL: `${base}/v1`, timeout: 30000, maxRetries: 0 });
  const post = (path, body, headers = {}) => fetch(base + path, {
    method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}`, ...headers },
    body: typeof body === 'string' || body instanceof Buffer ? body : JSON.stringify(body), signal: AbortSignal.timeout(30000),
  });

  // /v1/models
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id).sort();
  check(JSON.stringify(ids) === '["digits","story"]', 'models.list names both models', JSON.stringify(ids));

  // Chat completion, greedy: deterministic, and equal to the streamed one.
  const messages = [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'Tell me about a cat.' }];
  const chat = await client.chat.completions.create({ model: 'story', messages, max_tokens: 24, temperature: 0 });
  const text = chat.choices[0].message.content;
  check(chat.object === 'chat.completion' && typeof text === 'string' && text.length > 0, 'chat completion returns text', JSON.stringify(chat));
  check(chat.usage.completion_tokens > 0 && chat.usage.completion_tokens <= 24 && chat.usage.prompt_tokens > 0 &&
        chat.usage.total_tokens === chat.usage.prompt_tokens + chat.usage.completion_tokens, 'chat usage counts', JSON.stringify(chat.usage));
  check(['stop', 'length'].includes(chat.choices[0].finish_reason), 'chat finish_reason');
  const again = await client.chat.completions.create({ model: 'story', messages, max_tokens: 24, temperature: 0 });
  check(again.choices[0].message.content === text, 'greedy chat is deterministic');
  const seeded = async () => (await client.chat.completions.create({ model: 'story', messages, max_tokens: 24, temperature: 0.9, top_p: 0.9, seed: 7 })).choices[0].message.content;
  check((await seeded()) === (await seeded()), 'sampling with a seed is reproducible');

  // Streamed chat.
  const stream = await client.chat.completions.create({ model: 'story', messages, max_tokens: 24, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let streamed = '';
  let chunks = 0;
  let finish = null;
  let usage = null;
  for await (const c of stream) {
    chunks++;
    if (c.choices.length) {
      streamed += c.choices[0].delta.content ?? '';
      if (c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
    }
    if (c.usage) usage = c.usage;
  }
  check(chunks >= 3 && streamed === text, 'streamed chat equals the non-streamed text', `${chunks} chunks: ${JSON.stringify(streamed)} vs ${JSON.stringify(text)}`);
  check(finish === chat.choices[0].finish_reason && usage?.completion_tokens === chat.usage.completion_tokens, 'stream ends with finish_reason and usage');

  // Completion: the same text as `edgeai generate` (greedy) on the same prompt.
  const prompt = 'Once upon a time, there was a little dog';
  const comp = await client.completions.create({ model: 'story', prompt, max_tokens: 40, temperature: 0 });
  const gen = JSON.parse(execFileSync(args.cli, ['generate', args.llm, '--prompt', prompt, '--temp', '0', '-n', '40', '--json', '--threads', '1'], { timeout: 30000 }).toString());
  check(comp.object === 'text_completion' && comp.choices[0].text === gen.text, 'completion equals edgeai generate', `${JSON.stringify(comp.choices[0].text)} vs ${JSON.stringify(gen.text)}`);
  check(comp.usage.completion_tokens === gen.generated_tokens && comp.usage.prompt_tokens === gen.prompt_tokens, 'completion usage equals edgeai generate', JSON.stringify(comp.usage));
  const stopped = await client.completions.create({ model: 'story', prompt, max_tokens: 40, temperature: 0, stop: [' the'] });
  const cut = gen.text.indexOf(' the');
  check(cut >= 0 ? stopped.choices[0].text === gen.text.slice(0, cut) && stopped.choices[0].finish_reason === 'stop' : true, 'stop string ends the completion before it', JSON.stringify(stopped.choices[0]));

  // JSON schema constrained.
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string', maxLength: 20 },
      age: { type: 'integer' },
      height: { type: 'number' },
      pet: { enum: ['cat', 'dog', 'bird'] },
      happy: { type: 'boolean' },
      friends: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] }, maxItems: 3 },
    },
    required: ['name', 'age', 'pet', 'happy', 'friends'],
    additionalProperties: false,
  };
  // 57 tokens is the shortest document (every required field, one character a token): the budget
  // must still end in a complete document.
  for (const [seed, max_tokens] of [[1, 120], [2, 80], [3, 57], [4, 58]]) {
    const r = await client.chat.completions.create({
      model: 'story', messages: [{ role: 'user', content: 'Describe a child as JSON.' }], max_tokens, temperature: 1, seed,
      response_format: { type: 'json_schema', json_schema: { name: 'child', schema, strict: true } },
    });
    const content = r.choices[0].message.content;
    let parsed = null;
    try {
      parsed = JSON.parse(content);
    } catch (e) {
      parsed = null;
    }
    const errs = parsed === null ? ['does not parse'] : validate(schema, parsed);
    check(errs.length === 0 && r.usage.completion_tokens <= max_tokens, `json_schema reply (seed ${seed}, max_tokens ${max_tokens}) parses and validates`, `${errs.join('; ')}: ${JSON.stringify(content)}`);
  }
  await expectStatus(client.chat.completions.create({ model: 'story', messages, max_tokens: 56, response_format: { type: 'json_schema', json_schema: { name: 'child', schema } } }), 400, 'max_tokens below the shortest document');
  const jo = await client.chat.completions.create({ model: 'story', messages: [{ role: 'user', content: 'JSON please' }], max_tokens: 40, seed: 5, response_format: { type: 'json_object' } });
  let joParsed = null;
  try {
    joParsed = JSON.parse(jo.choices[0].message.content);
  } catch (e) { /* checked below */ }
  check(joParsed !== null && typeof joParsed === 'object' && !Array.isArray(joParsed), 'json_object reply is a JSON object', JSON.stringify(jo.choices[0].message.content));
  await expectStatus(client.chat.completions.create({ model: 'story', messages, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { anyOf: [{ type: 'string' }] } } } }), 400, 'unsupported schema keyword');

  // Embeddings (the client asks for base64 and decodes it).
  const emb = await client.embeddings.create({ model: 'story', input: ['a happy cat', 'a happy cat', 'the sea'] });
  const [e0, e1, e2] = emb.data.map((d) => d.embedding);
  check(emb.data.length === 3 && e0.length === 64 && e0.every((x, i) => x === e1[i]) && e0.some((x, i) => x !== e2[i]), 'embeddings: 64 values, same text same vector');

  // ONNX /v1/infer against PyTorch's logits.
  const images = readNpy(readFileSync(`${args.digits}/test_images.npy`));
  const logits = readNpy(readFileSync(`${args.digits}/test_logits_pytorch.npy`));
  const per = images.shape.slice(1).reduce((a, b) => a * b, 1);
  const img = images.data.slice(0, 2 * per);
  const ref = logits.data.slice(0, 2 * logits.shape[1]);
  const maxErr = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
  let r = await post('/v1/infer/digits', { inputs: [{ name: 'image', dtype: 'float32', shape: [2, ...images.shape.slice(1)], data: img }] });
  const out = await r.json();
  check(r.status === 200 && JSON.stringify(out.outputs?.[0]?.shape) === JSON.stringify([2, 10]) && maxErr(out.outputs[0].data, ref) < 1e-4,
    'infer (JSON) matches PyTorch logits', JSON.stringify(out).slice(0, 300));
  r = await post('/v1/infer/digits', npyBytes([2, ...images.shape.slice(1)], img), { 'Content-Type': 'application/x-npy', Accept: 'application/x-npy' });
  const npy = readNpy(Buffer.from(await r.arrayBuffer()));
  check(r.status === 200 && JSON.stringify(npy.shape) === '[2,10]' && maxErr(npy.data, ref) < 1e-4, 'infer (.npy in and out) matches PyTorch logits');

  // Errors.
  await expectStatus(client.chat.completions.create({ model: 'nope', messages }), 404, 'unknown model', 'model_not_found');
  await expectStatus(client.completions.create({ model: 'story', prompt, max_tokens: 100000 }), 400, 'max_tokens over the server limit');
  await expectStatus(client.completions.create({ model: 'story', prompt, max_tokens: 510 }), 400, 'prompt + max_tokens over the context', 'context_length_exceeded');
  await expectStatus(client.chat.completions.create({ model: 'story', messages, n: 2 }), 400, 'n = 2');
  await expectStatus(client.chat.completions.create({ model: 'story', messages, temperature: 5 }), 400, 'temperature out of range');
  await expectStatus(client.chat.completions.create({ model: 'digits', messages }), 400, 'chat with an ONNX model');
  const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${base}/v1`, timeout: 30000, maxRetries: 0 });
  await expectStatus(wrong.models.list(), 401, 'wrong API key', 'invalid_api_key');
  await expectStatus(wrong.chat.completions.create({ model: 'story', messages }), 401, 'wrong API key on chat');
  const statusOf = async (p) => (await p).status;
  const errOf = async (p) => (await (await p).json()).error;
  check((await statusOf(post('/v1/chat/completions', '{"model": "story", "messages": ['))) === 400, 'bad JSON -> 400');
  const be = await errOf(post('/v1/chat/completions', '{"model": "story", "messages": ['));
  check(be && typeof be.message === 'string' && be.type === 'invalid_request_error' && 'param' in be && 'code' in be, 'error body has message, type, param, code');
  check((await statusOf(post('/v1/chat/completions', { model: 'story', messages: 'hi' }))) === 400, 'messages not an array -> 400');
  check((await statusOf(post('/v1/chat/completions', { model: 'story', messages: [{ role: 'wizard', content: 'x' }] }))) === 400, 'unknown role -> 400');
  check((await statusOf(post('/v1/completions', 'x'.repeat(100000)))) === 413, 'body over --max-body -> 413');
  check((await statusOf(post('/v1/infer/digits', { inputs: [{ name: 'image', dtype: 'float32', shape: [1, 1, 8, 7], data: new Array(56).fill(0) }] }))) === 400, 'infer: wrong shape -> 400');
  check((await statusOf(post('/v1/infer/digits', { inputs: [{ name: 'nope', data: [1] }] }))) === 400, 'infer: unknown input -> 400');
  check((await statusOf(post('/v1/infer/digits', { inputs: [{ name: 'image', dtype: 'int64', shape: [1, 1, 8, 8], data: new Array(64).fill(1) }] }))) === 400, 'infer: wrong dtype -> 400');
  check((await statusOf(post('/v1/infer/digits', Buffer.from('not an npy file'), { 'Content-Type': 'application/x-npy' }))) === 400, 'infer: bad .npy -> 400');
  check((await statusOf(post('/v1/infer/story', { inputs: [] }))) === 400, 'infer on a language model -> 400');
  check((await statusOf(post('/v1/infer/missing', { inputs: [] }))) === 404, 'infer on an unknown model -> 404');
  check((await statusOf(post('/v1/infer/..%2F..%2Fetc%2Fpasswd', { inputs: [] }))) === 404, 'no path from a request to the file system');
  check((await statusOf(fetch(`${base}/nothing`, { headers: { Authorization: `Bearer ${KEY}` } }))) === 404, 'unknown URL -> 404');
  check((await statusOf(fetch(`${base}/health`))) === 200, '/health needs no key');

  // A client that goes away frees its slot at once.
  const ac = new AbortController();
  const long = await client.chat.completions.create({ model: 'story', messages, max_tokens: 400, stream: true }, { signal: ac.signal });
  try {
    for await (const c of long) {
      if (c.choices[0]?.delta?.content) ac.abort();
    }
  } catch (e) { /* aborted */ }
  let busy = -1;
  for (let i = 0; i < 20; i++) {
    await new Promise((res) => setTimeout(res, 50));
    const m = await (await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } })).text();
    busy = Number(/edgeai_busy_slots\{model="story"\} (\S+)/.exec(m)?.[1]);
    if (busy === 0) break;
  }
  check(busy === 0, 'a disconnected stream frees its slot', `busy slots ${busy}`);
  const metrics = await (await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${KEY}` } })).text();
  check(/edgeai_requests_total\{endpoint="\/v1\/chat\/completions",status="200"\} \d+/.test(metrics) && /edgeai_generated_tokens_total \d+/.test(metrics) &&
        /edgeai_queue_depth\{model="story"\} 0/.test(metrics) && /edgeai_time_to_first_token_seconds_count \d+/.test(metrics), '/metrics in Prometheus text');

  // Sequences decoded together on two threads (each thread runs whole slots' rows): a greedy
  // completion decoded alongside three JSON-schema replies gives the text it gives alone, and the
  // replies parse and validate.
  const b = await startServer(['serve', '--model', `story=${args.llm}`, '--port', '0', '--threads', '2', '--parallel', '4']);
  try {
    const bc = new OpenAI({ apiKey: 'none', baseURL: `http://127.0.0.1:${b.port}/v1`, timeout: 30000, maxRetries: 0 });
    const alone = (await bc.completions.create({ model: 'story', prompt, max_tokens: 40, temperature: 0 })).choices[0].text;
    const [together, ...docs] = await Promise.all([
      bc.completions.create({ model: 'story', prompt, max_tokens: 40, temperature: 0 }),
      ...[11, 12, 13].map((seed) => bc.chat.completions.create({
        model: 'story', messages: [{ role: 'user', content: 'Describe a child as JSON.' }], max_tokens: 120, temperature: 1, seed,
        response_format: { type: 'json_schema', json_schema: { name: 'child', schema, strict: true } },
      })),
    ]);
    check(together.choices[0].text === alone, 'a greedy completion decoded with others equals it alone', `${JSON.stringify(together.choices[0].text)} vs ${JSON.stringify(alone)}`);
    for (const [i, r] of docs.entries()) {
      let parsed = null;
      try {
        parsed = JSON.parse(r.choices[0].message.content);
      } catch (e) {
        parsed = null;
      }
      const errs = parsed === null ? ['does not parse'] : validate(schema, parsed);
      check(errs.length === 0, `json_schema reply ${i} decoded with others parses and validates`, `${errs.join('; ')}: ${JSON.stringify(r.choices[0].message.content)}`);
    }
  } finally {
    b.proc.kill('SIGKILL');
  }

  // --mmap: both models mapped (GGUF weights, the ONNX model's file) answer as the read ones do.
  const mm = await startServer(['serve', '--model', `story=${args.llm}`, '--model', `digits=${args.onnx}`, '--port', '0',
    '--threads', '1', '--mmap']);
  try {
    const mbase = `http://127.0.0.1:${mm.port}`;
    const mc = new OpenAI({ apiKey: 'none', baseURL: `${mbase}/v1`, timeout: 30000, maxRetries: 0 });
    const mcomp = await mc.completions.create({ model: 'story', prompt, max_tokens: 40, temperature: 0 });
    check(mcomp.choices[0].text === gen.text, 'mapped: completion equals edgeai generate', JSON.stringify(mcomp.choices[0].text));
    const mr = await fetch(`${mbase}/v1/infer/digits`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(30000),
      body: JSON.stringify({ inputs: [{ name: 'image', dtype: 'float32', shape: [2, ...images.shape.slice(1)], data: img }] }),
    });
    const mout = await mr.json();
    check(mr.status === 200 && maxErr(mout.outputs[0].data, ref) < 1e-4, 'mapped: infer matches PyTorch logits', JSON.stringify(mout).slice(0, 300));
  } finally {
    mm.proc.kill('SIGKILL');
  }

  // A full queue answers 503 (a second server: one slot, no queue).
  const q = await startServer(['serve', '--model', `story=${args.llm}`, '--port', '0', '--threads', '1', '--parallel', '1', '--max-queue', '0']);
  try {
    const qc = new OpenAI({ apiKey: 'none', baseURL: `http://127.0.0.1:${q.port}/v1`, timeout: 30000, maxRetries: 0 });
    const codes = await Promise.all(Array.from({ length: 8 }, () => qc.completions.create({ model: 'story', prompt: 'Once', max_tokens: 400 })
      .then(() => 200, (e) => e.status)));
    check(codes.includes(200) && codes.includes(503) && codes.every((c) => c === 200 || c === 503), 'a full queue -> 503, the rest served', JSON.stringify(codes));
  } finally {
    q.proc.kill('SIGKILL');
  }

  // A late error, after the 200 went out, must not look like a success. A server with one slot,
  // a 4096-token context and a grace of 1 s is stopped while long requests queue: non-streamed
  // ones that waited past a second (200 and whitespace sent) and the streamed ones (200 with the
  // stream) are cancelled when the grace ends. Non-streamed replies are read with fetch (the
  // openai client also raises on a 200 whose body is an error object; other clients need not):
  // each must be a non-200 status, a 200 whose body has a finish_reason, or a broken reply;
  // streamed ones, through the openai client, must end with a finish_reason or raise.
  const g = await startServer(['serve', '--model', `story=${args.llm}`, '--port', '0', '--threads', '1', '--parallel', '1',
    '--ctx', '4096', '--max-queue', '64', '--shutdown-grace', '1']);
  try {
    const gbase = `http://127.0.0.1:${g.port}`;
    const gc = new OpenAI({ apiKey: 'none', baseURL: `${gbase}/v1`, timeout: 30000, maxRetries: 0 });
    const plain = Array.from({ length: 20 }, async () => {
      let r;
      try {
        r = await fetch(`${gbase}/v1/completions`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(30000),
          body: JSON.stringify({ model: 'story', prompt: 'Once', max_tokens: 3000 }),
        });
      } catch (e) {
        return 'error';
      }
      let text;
      try {
        text = await r.text();
      } catch (e) {
        return r.status === 200 ? 'cut' : 'error';  // the reply broke off
      }
      if (r.status !== 200) return 'error';
      let j = null;
      try {
        j = JSON.parse(text);
      } catch (e) {
        return 'cut';
      }
      return j?.choices?.[0]?.finish_reason ? 'ok' : `200 without choices: ${text.trim().slice(0, 80)}`;
    });
    await new Promise((res) => setTimeout(res, 300));  // the streams queue behind them
    const streamed = Array.from({ length: 4 }, async () => {
      try {
        const st = await gc.completions.create({ model: 'story', prompt: 'Once', max_tokens: 3000, stream: true });
        let fin = null;
        for await (const c of st) fin = c.choices?.[0]?.finish_reason ?? fin;
        return fin ? 'ok' : 'stream ended without finish_reason';
      } catch (e) {
        return 'error';
      }
    });
    await new Promise((res) => setTimeout(res, 2200));
    g.proc.kill('SIGTERM');
    const p = await withTimeout(Promise.all(plain), 30000, 'non-streamed replies after SIGTERM');
    const st = await withTimeout(Promise.all(streamed), 30000, 'streamed replies after SIGTERM');
    check(p.every((o) => o === 'ok' || o === 'error' || o === 'cut') && p.includes('cut'),
      'a late error of a non-streamed reply (after its 200) cuts the reply off', JSON.stringify(p));
    check(st.every((o) => o === 'ok' || o === 'error') && st.includes('error'),
      'a late error of a streamed reply is an SSE error event the client raises', JSON.stringify(st));
  } finally {
    g.proc.kill('SIGKILL');
  }

  // More connections than HTTP threads: 2 threads kept, 4 idle keep-alive connections (each held a
  // thread for the 5 s keep-alive wait) and 12 clients with 3 requests each. Every request gets a
  // reply (200) or the full queue's 503 within a few seconds, and SIGTERM still stops the server.
  const o = await startServer(['serve', '--model', `story=${args.llm}`, '--port', '0', '--threads', '1', '--parallel', '1',
    '--max-queue', '1', '--http-threads', '2', '--shutdown-grace', '1']);
  const idle = [];
  try {
    for (let i = 0; i < 4; i++) {
      idle.push(await withTimeout(new Promise((res, rej) => {
        const c = net.connect(o.port, '127.0.0.1', () => res(c));
        c.on('error', rej);
      }), 5000, 'idle connection'));
    }
    await new Promise((res) => setTimeout(res, 200));
    const obase = `http://127.0.0.1:${o.port}`;
    const outcomes = await Promise.all(Array.from({ length: 12 }, async () => {
      const seen = [];
      for (let k = 0; k < 3; k++) {
        const t0 = performance.now();
        try {
          const r = await fetch(`${obase}/v1/completions`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(20000),
            body: JSON.stringify({ model: 'story', prompt: 'Once', max_tokens: 20, seed: k }),
          });
          const j = await r.json();
          seen.push({ status: r.status === 200 && j.usage ? 200 : r.status, ms: performance.now() - t0 });
        } catch (e) {
          seen.push({ status: String(e.name), ms: performance.now() - t0 });
        }
      }
      return seen;
    }));
    const all = outcomes.flat();
    const slowest = Math.max(...all.map((x) => x.ms));
    check(all.every((x) => x.status === 200 || x.status === 503) && all.some((x) => x.status === 200) && slowest < 4000,
      'more connections than HTTP threads: every request gets a 200 or a 503 within 4 s',
      `slowest ${slowest.toFixed(0)} ms, statuses ${JSON.stringify(all.map((x) => x.status))}`);
    const exited = new Promise((res) => o.proc.on('exit', (code) => res(code)));
    o.proc.kill('SIGTERM');
    const code = await withTimeout(exited, 10000, 'exit after SIGTERM with idle connections open');
    check(code === 0, 'SIGTERM with idle connections open: the server exits 0', String(code));
  } finally {
    for (const c of idle) c.destroy();
    o.proc.kill('SIGKILL');
  }

  // SIGTERM while a stream runs: the stream ends properly and the server exits 0.
  const last = await client.completions.create({ model: 'story', prompt: 'Once', max_tokens: 300, stream: true });
  const exited = new Promise((res) => server.on('exit', (code, sig) => res({ code, sig })));
  let sawText = false;
  let ended = false;
  for await (const c of last) {
    if (!sawText && c.choices[0]?.text) {
      sawText = true;
      server.kill('SIGTERM');
    }
    if (c.choices[0]?.finish_reason) ended = true;
  }
  const ex = await withTimeout(exited, 20000, 'exit after SIGTERM');
  check(ended && ex.code === 0, 'SIGTERM: the running stream finishes and the server exits 0', JSON.stringify(ex));
  server = null;
}

try {
  await main();
} catch (e) {
  failures++;
  console.log(`FAIL ${e.stack ?? e}`);
} finally {
  if (server) server.kill('SIGKILL');
  clearTimeout(watchdog);
}
console.log(`${passes} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
