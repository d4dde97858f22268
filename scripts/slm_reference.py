#!/usr/bin/env python3
"""Reference outputs for the SLM tests, computed with NumPy straight from a llama2.c checkpoint.

Reads stories260K.bin (Karpathy's llama2.c format) and its tok512.bin tokenizer without edgeai,
runs the llama2.c forward pass in float64 and writes tests/llm/data/stories260K_reference.json:

  greedy:     the 200 tokens that greedy decoding produces from BOS (llama2.c's run.c with
              temperature 0), with their text and the smallest top-1/top-2 logit gap seen (so a
              reader can tell how robust an exact-token comparison is);
  perplexity: llama.cpp's llama-perplexity method on the start of tinystories_val.txt:
              tokens = [BOS] + encode(text) (SentencePiece BPE with a leading space, byte
              fallback, as llama.cpp and llama2.c both tokenize), cut into n_chunk chunks of
              n_ctx tokens; each chunk is evaluated from an empty cache with its first token
              replaced by BOS; positions j = n_ctx/2 .. n_ctx-2 predict token j+1;
              ppl = exp(mean of -log softmax(logits_j)[token_{j+1}]).
              The token ids are stored too, so tokenizer and model can be checked apart.

usage: /usr/bin/python3 scripts/slm_reference.py [--data ../shared/data] [--out tests/llm/data/...]
"""
import argparse
import heapq
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def read_checkpoint(path):
    with open(path, 'rb') as f:
        data = f.read()
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack('7i', data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    w = np.frombuffer(data, dtype=np.float32, offset=28).astype(np.float64)
    head = dim // n_heads
    kv_dim = head * n_kv_heads
    sizes = [('emb', vocab * dim), ('rms_att', n_layers * dim), ('wq', n_layers * dim * dim),
             ('wk', n_layers * kv_dim * dim), ('wv', n_layers * kv_dim * dim), ('wo', n_layers * dim * dim),
             ('rms_ffn', n_layers * dim), ('w1', n_layers * hidden * dim), ('w2', n_layers * dim * hidden),
             ('w3', n_layers * hidden * dim), ('rms_final', dim), ('freq_real', seq_len * head // 2),
             ('freq_imag', seq_len * head // 2)]
    if not shared:
        sizes.append(('wcls', vocab * dim))
    p = {}
    off = 0
    for name, n in sizes:
        p[name] = w[off:off + n]
        off += n
    if off != len(w):
        raise SystemExit(f'{path}: {len(w)} floats, expected {off}')
    L = n_layers
    m = {
        'emb': p['emb'].reshape(vocab, dim),
        'rms_att': p['rms_att'].reshape(L, dim),
        'wq': p['wq'].reshape(L, dim, dim),
        'wk': p['wk'].reshape(L, kv_dim, dim),
        'wv': p['wv'].reshape(L, kv_dim, dim),
        'wo': p['wo'].reshape(L, dim, dim),
        'rms_ffn': p['rms_ffn'].reshape(L, dim),
        'w1': p['w1'].reshape(L, hidden, dim),
        'w2': p['w2'].reshape(L, dim, hidden),
        'w3': p['w3'].reshape(L, hidden, dim),
        'rms_final': p['rms_final'],
    }
    m['wcls'] = p['wcls'].reshape(vocab, dim) if not shared else m['emb']
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads, vocab=vocab,
               seq_len=seq_len)
    return cfg, m


def read_tokenizer(path, vocab):
    with open(path, 'rb') as f:
        data = f.read()
    off = 4
    pieces, scores = [], []
    for _ in range(vocab):
        score, n = struct.unpack_from('fi', data, off)
        off += 8
        pieces.append(data[off:off + n])
        off += n
        scores.append(score)
    return pieces, scores


def rmsnorm(x, w, eps=1e-5):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def forward(cfg, m, tokens):
    """Logits (T, vocab) for tokens at positions 0..T-1 (causal), llama2.c's math in float64."""
    dim, nh, nkv = cfg['dim'], cfg['n_heads'], cfg['n_kv_heads']
    hs = dim // nh
    T = len(tokens)
    x = m['emb'][np.asarray(tokens)]
    pos = np.arange(T)[:, None]
    # llama2.c: for i in 0..dim step 2: freq = 1 / 10000^((i % hs) / hs); adjacent pairs rotate.
    freq = 1.0 / (10000.0 ** (np.arange(0, hs, 2) / hs))
    ang = pos * freq[None, :]
    cos, sin = np.cos(ang), np.sin(ang)

    def rope(v, n):
        v = v.reshape(T, n, hs // 2, 2)
        a, b = v[..., 0], v[..., 1]
        c, s = cos[:, None, :], sin[:, None, :]
        return np.stack([a * c - b * s, a * s + b * c], axis=-1).reshape(T, n * hs)

    mask = np.triu(np.full((T, T), -np.inf), k=1)
    group = nh // nkv
    for l in range(cfg['n_layers']):
        xb = rmsnorm(x, m['rms_att'][l])
        q = rope(xb @ m['wq'][l].T, nh)
        k = rope(xb @ m['wk'][l].T, nkv)
        v = xb @ m['wv'][l].T
        out = np.empty((T, dim))
        for h in range(nh):
            g = h // group
            qh = q[:, h * hs:(h + 1) * hs]
            kh = k[:, g * hs:(g + 1) * hs]
            vh = v[:, g * hs:(g + 1) * hs]
            s = qh @ kh.T / math.sqrt(hs) + mask
            s = np.exp(s - s.max(axis=1, keepdims=True))
            s /= s.sum(axis=1, keepdims=True)
            out[:, h * hs:(h + 1) * hs] = s @ vh
        x = x + out @ m['wo'][l].T
        xb = rmsnorm(x, m['rms_ffn'][l])
        h1 = xb @ m['w1'][l].T
        h3 = xb @ m['w3'][l].T
        x = x + (h1 / (1.0 + np.exp(-h1)) * h3) @ m['w2'][l].T
    x = rmsnorm(x, m['rms_final'])
    return x @ m['wcls'].T


def encode(text, pieces, scores):
    """SentencePiece BPE as llama2.c's encode() (and llama.cpp's SPM tokenizer): a leading space,
    one symbol per UTF-8 character (byte tokens 3 + b for characters not in the vocabulary), then
    repeatedly merge the adjacent pair whose concatenation is in the vocabulary with the highest
    score (leftmost on ties). Heap + linked list, so long texts are fast."""
    index = {p: i for i, p in enumerate(pieces)}
    data = (' ' + text).encode('utf-8')
    syms = []  # [bytes or None (byte-fallback token), token id]
    i = 0
    while i < len(data):
        c = data[i]
        n = 1 if c < 0x80 else 2 if c >> 5 == 6 else 3 if c >> 4 == 14 else 4
        ch = data[i:i + n]
        if ch in index:
            syms.append([ch, index[ch]])
        else:
            for b in ch:
                syms.append([None, b + 3])
        i += n
    N = len(syms)
    nxt = list(range(1, N + 1))
    prv = list(range(-1, N - 1))
    ver = [0] * N
    alive = [True] * N
    heap = []

    def push(a):
        b = nxt[a]
        if a < 0 or b >= N or syms[a][0] is None or syms[b][0] is None:
            return
        mid = index.get(syms[a][0] + syms[b][0])
        if mid is not None:
            heapq.heappush(heap, (-scores[mid], a, ver[a], b, ver[b], mid))

    for a in range(N - 1):
        push(a)
    while heap:
        _, a, va, b, vb, mid = heapq.heappop(heap)
        if not (alive[a] and alive[b] and ver[a] == va and ver[b] == vb and nxt[a] == b):
            continue
        syms[a] = [syms[a][0] + syms[b][0], mid]
        ver[a] += 1
        alive[b] = False
        nxt[a] = nxt[b]
        if nxt[b] < N:
            prv[nxt[b]] = a
        if prv[a] >= 0:
            push(prv[a])
        push(a)
    out = []
    a = 0
    while a < N:
        out.append(syms[a][1])
        a = nxt[a]
    return out


def decode(ids, pieces):
    out = b''
    for t in ids:
        p = pieces[t]
        if 3 <= t < 259:
            out += bytes([t - 3])
        elif t in (0, 1, 2):
            continue
        else:
            out += p
    return out.decode('utf-8', errors='replace')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=os.path.join(HERE, '..', '..', 'shared', 'data'))
    ap.add_argument('--out', default=os.path.join(HERE, '..', 'tests', 'llm', 'data', 'stories260K_reference.json'))
    ap.add_argument('--steps', type=int, default=200)
    ap.add_argument('--ppl-ctx', type=int, default=256)
    ap.add_argument('--ppl-chunks', type=int, default=16)
    args = ap.parse_args()
    cfg, m = read_checkpoint(os.path.join(args.data, 'slm', 'stories260K.bin'))
    pieces, scores = read_tokenizer(os.path.join(args.data, 'slm', 'tok512.bin'), cfg['vocab'])
    BOS = 1

    # Greedy decoding from BOS.
    seq = [BOS]
    gaps = []
    for _ in range(args.steps):
        logits = forward(cfg, m, seq)[-1]
        order = np.argsort(-logits, kind='stable')
        gaps.append(float(logits[order[0]] - logits[order[1]]))
        seq.append(int(order[0]))
    gen = seq[1:]
    text = decode(gen, pieces)
    if text.startswith(' '):
        text = text[1:]
    print('greedy:', repr(text[:120]), '... min top-2 gap %.4g' % min(gaps), file=sys.stderr)

    # Perplexity (llama.cpp's chunking).
    n_ctx, n_chunks = args.ppl_ctx, args.ppl_chunks
    need = n_ctx * n_chunks
    with open(os.path.join(args.data, 'text', 'tinystories_val.txt'), encoding='utf-8') as f:
        full = f.read()
    chars = 4 * need  # enough text for `need` tokens; the tail past n_chunk * n_ctx is dropped
    while True:
        toks = [BOS] + encode(full[:chars], pieces, scores)
        if len(toks) >= need + 64 or chars >= len(full):
            break
        chars *= 2
    # Cut at a line end so that a tokenizer sees the same text either way.
    cut = full.rfind('\n', 0, chars)
    chars = cut + 1 if cut > 0 else chars
    toks = [BOS] + encode(full[:chars], pieces, scores)
    if len(toks) < need:
        raise SystemExit('text too short')
    first = n_ctx // 2
    nll, count, running = 0.0, 0, []
    for c in range(n_chunks):
        chunk = list(toks[c * n_ctx:(c + 1) * n_ctx])
        chunk[0] = BOS
        lg = forward(cfg, m, chunk)
        for j in range(first, n_ctx - 1):
            row = lg[j]
            mx = row.max()
            lse = mx + math.log(np.exp(row - mx).sum())
            nll -= row[toks[c * n_ctx + j + 1]] - lse
            count += 1
        running.append(math.exp(nll / count))
    ppl = math.exp(nll / count)
    print('perplexity: %.6f over %d tokens (%d chunks of %d), text %d chars' % (ppl, count, n_chunks, n_ctx, chars),
          file=sys.stderr)

    ref = {
        'source': 'scripts/slm_reference.py (NumPy float64, llama2.c forward pass, read from stories260K.bin)',
        'model': 'stories260K.bin',
        'tokenizer': 'tok512.bin',
        'bos': BOS,
        'greedy': {'prompt': [BOS], 'tokens': gen, 'text': text, 'min_top2_logit_gap': min(gaps)},
        'perplexity': {'method': 'llama.cpp llama-perplexity: chunks of n_ctx, first token BOS, score positions '
                                 'n_ctx/2..n_ctx-2', 'text_file': 'text/tinystories_val.txt', 'text_chars': chars,
                       'n_ctx': n_ctx, 'n_chunks': n_chunks, 'tokens_scored': count, 'perplexity': ppl,
                       'running': running, 'tokens': toks[:need]},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(ref, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', args.out, file=sys.stderr)


if __name__ == '__main__':
    main()
