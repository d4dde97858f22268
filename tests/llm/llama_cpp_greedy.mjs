// Greedy tokens from llama.cpp (npm node-llama-cpp, prebuilt CPU binary) for the exactness check
// in scripts/check_llama_cpp.sh.
// usage: node llama_cpp_greedy.mjs MODEL.gguf N [PROMPT_IDS (comma-separated; default: BOS)]
// Several prompts separated by ';' are run one after the other from an empty cache.
// Prints one JSON line: {release, prompt, tokens} (tokens: a list per prompt when several). Needs NODE_LLAMA_CPP_DIR (the package folder)
// or node-llama-cpp resolvable from the current folder.
import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';
import { pathToFileURL } from 'url';

const dir = process.env.NODE_LLAMA_CPP_DIR ||
  path.resolve(path.dirname(createRequire(path.join(process.cwd(), 'x.js')).resolve('node-llama-cpp')), '..');
const { getLlama } = await import(pathToFileURL(path.join(dir, 'dist/index.js')).href);
const [modelPath, nS = '200', promptS = ''] = process.argv.slice(2);
if (!modelPath) {
  console.error('usage: node llama_cpp_greedy.mjs MODEL.gguf N [PROMPT_IDS]');
  process.exit(2);
}
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });
const ctx = await model.createContext({ contextSize: 512, threads: 1 });
const seq = ctx.getSequence();
const prompts = (promptS || String(model.tokens.bos)).split(';').map((p) => p.split(',').map(Number));
const all = [];
for (const prompt of prompts) {
  await seq.clearHistory();
  const tokens = [];
  for await (const tok of seq.evaluate(prompt, { temperature: 0, topK: 1, yieldEogToken: true })) {
    tokens.push(tok);
    if (tokens.length >= +nS) break;
  }
  all.push(tokens);
}
const prompt = prompts.length === 1 ? prompts[0] : prompts;
const tokens = prompts.length === 1 ? all[0] : all;
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const release = `node-llama-cpp ${pkg.version}, llama.cpp ${llama.llamaCppRelease?.release ?? '?'}`;
console.log(JSON.stringify({ release, prompt, tokens }));
await ctx.dispose();
await model.dispose();
await llama.dispose();
