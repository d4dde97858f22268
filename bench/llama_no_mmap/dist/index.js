// A stand-in for node-llama-cpp's entry point that loads every model with useMmap: false (llama.cpp's
// --no-mmap: weights read into memory), for ../shared/bench/llama_run.mjs, which loads with the
// defaults. bench/llm_vs_llama_cpp.sh --peer-no-mmap points NODE_LLAMA_CPP_DIR here and
// REAL_NODE_LLAMA_CPP_DIR at the real package.
import path from 'path';
import { pathToFileURL } from 'url';

const real = await import(pathToFileURL(path.join(process.env.REAL_NODE_LLAMA_CPP_DIR, 'dist/index.js')).href);

export async function getLlama(options) {
  const llama = await real.getLlama(options);
  const load = llama.loadModel.bind(llama);
  llama.loadModel = (opts) => load({ ...opts, useMmap: false });
  return llama;
}
