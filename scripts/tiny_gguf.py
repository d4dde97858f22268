#!/usr/bin/env python3
"""Writes tiny random-weight GGUF language models, one per architecture edgeai runs (llama, qwen2,
phi3, gemma, gemma2), laid out as llama.cpp's converters write them. Used to check edgeai's
forward pass against llama.cpp on each family's specifics (biases, NeoX RoPE, fused qkv and
gate_up, GELU, embedding scale, post-norms, soft-capping, sliding windows).

usage: /usr/bin/python3 scripts/tiny_gguf.py OUTDIR   -> OUTDIR/tiny_<arch>.gguf
"""
import os
import struct
import sys

import numpy as np

U32, I32, F32, BOOL, STR, ARR = 4, 5, 6, 7, 8, 9


def _str(s):
    b = s.encode('utf-8')
    return struct.pack('<Q', len(b)) + b


def _kv(key, vtype, value):
    out = _str(key) + struct.pack('<I', vtype)
    if vtype == U32:
        out += struct.pack('<I', value)
    elif vtype == I32:
        out += struct.pack('<i', value)
    elif vtype == F32:
        out += struct.pack('<f', value)
    elif vtype == BOOL:
        out += struct.pack('<B', 1 if value else 0)
    elif vtype == STR:
        out += _str(value)
    elif vtype == ARR:
        etype, items = value
        out += struct.pack('<IQ', etype, len(items))
        for it in items:
            if etype == STR:
                out += _str(it)
            elif etype == F32:
                out += struct.pack('<f', it)
            elif etype == I32:
                out += struct.pack('<i', it)
    return out


GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0 = 0, 1, 2, 8


def quantize(arr, gtype):
    """Bytes of a 2-D float array in a GGML type (row-major; row length a multiple of 32 for the
    block types). Any faithful rounding will do: edgeai and llama.cpp read the same bytes."""
    if gtype == GGML_F32:
        return arr.astype(np.float32).tobytes()
    if gtype == GGML_F16:
        return arr.astype(np.float16).tobytes()
    blocks = arr.astype(np.float32).reshape(-1, 32)
    amax_i = np.argmax(np.abs(blocks), axis=1)
    out = bytearray()
    for b, i in zip(blocks, amax_i):
        if gtype == GGML_Q8_0:
            d = np.abs(b).max() / 127.0
            q = np.zeros(32, np.int8) if d == 0 else np.clip(np.round(b / d), -127, 127).astype(np.int8)
            out += np.float16(d).tobytes() + q.tobytes()
        elif gtype == GGML_Q4_0:
            d = b[i] / -8.0  # signed max maps to -8, as ggml does
            q = np.full(32, 8, np.uint8) if d == 0 else np.clip(np.floor(b / d + 8.5), 0, 15).astype(np.uint8)
            out += np.float16(d).tobytes() + (q[:16] | (q[16:] << 4)).astype(np.uint8).tobytes()
        else:
            raise ValueError(gtype)
    return bytes(out)


def write_gguf(path, kvs, tensors, alignment=32, wtype=GGML_F32):
    """kvs: [(key, type, value)]; tensors: [(name, np.float32 array with GGUF dims reversed)].
    2-D tensors are stored as `wtype`, vectors as f32."""
    head = b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(kvs))
    for k in kvs:
        head += _kv(*k)
    offset = 0
    infos = b''
    blobs = []
    for name, arr in tensors:
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        dims = list(reversed(arr.shape))  # GGUF: dims[0] is the row length
        infos += _str(name) + struct.pack('<I', len(dims)) + b''.join(struct.pack('<Q', d) for d in dims)
        gtype = wtype if arr.ndim == 2 else GGML_F32
        infos += struct.pack('<IQ', gtype, offset)
        blob = quantize(arr, gtype)
        pad = (-len(blob)) % alignment
        blobs.append(blob + b'\0' * pad)
        offset += len(blob) + pad
    data = head + infos
    data += b'\0' * ((-len(data)) % alignment)
    with open(path, 'wb') as f:
        f.write(data)
        for b in blobs:
            f.write(b)


def tiny(arch, seed):
    rng = np.random.default_rng(seed)
    E, F, L, H, HKV, CTX = 64, 96, 2, 4, 2, 256
    # Byte tokens plus the chat control tokens llama.cpp looks up for some families (phi3's <|end|>).
    extra = ['<|endoftext|>', '<|end|>', '<|user|>', '<|assistant|>', '<|system|>', '<start_of_turn>',
             '<end_of_turn>', '<|im_start|>', '<|im_end|>']
    V = 3 + 256 + len(extra)
    HD = 16
    swa = 0
    if arch == 'gemma':
        HD = 24  # head size != E / H, as in gemma 7B
    if arch == 'gemma2':
        swa = 8
    if arch == 'phi3':
        HKV = H  # phi3 mini has no GQA
    Q, KV = H * HD, HKV * HD
    gemma = arch.startswith('gemma')
    kvs = [('general.architecture', STR, arch), ('general.name', STR, 'tiny-' + arch),
           (arch + '.context_length', U32, CTX), (arch + '.embedding_length', U32, E),
           (arch + '.feed_forward_length', U32, F), (arch + '.block_count', U32, L),
           (arch + '.attention.head_count', U32, H), (arch + '.attention.head_count_kv', U32, HKV),
           (arch + '.attention.key_length', U32, HD), (arch + '.attention.value_length', U32, HD),
           (arch + '.rope.dimension_count', U32, HD), (arch + '.rope.freq_base', F32, 10000.0),
           (arch + '.attention.layer_norm_rms_epsilon', F32, 1e-6)]
    if swa:
        kvs.append((arch + '.attention.sliding_window', U32, swa))
    if arch == 'gemma2':
        kvs += [(arch + '.attn_logit_softcapping', F32, 50.0), (arch + '.final_logit_softcapping', F32, 30.0)]
    toks = ['<unk>', '<s>', '</s>'] + ['<0x%02X>' % b for b in range(256)] + extra
    kvs += [('tokenizer.ggml.model', STR, 'llama'), ('tokenizer.ggml.tokens', ARR, (STR, toks)),
            ('tokenizer.ggml.scores', ARR, (F32, [0.0] * V)),
            ('tokenizer.ggml.token_type', ARR, (I32, [2, 3, 3] + [6] * 256 + [3] * len(extra))),
            ('tokenizer.ggml.bos_token_id', U32, 1), ('tokenizer.ggml.eos_token_id', U32, 2),
            ('tokenizer.ggml.unknown_token_id', U32, 0)]

    def mat(rows, cols, scale=None):
        s = scale if scale is not None else 1.0 / np.sqrt(cols)
        return (rng.standard_normal((rows, cols)) * s).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    t = [('token_embd.weight', mat(V, E, 0.1 if gemma else 1.0)), ('output_norm.weight', norm(E))]
    if arch in ('llama', 'phi3', 'qwen2'):
        t.append(('output.weight', mat(V, E, 4.0 / np.sqrt(E))))  # peaky logits: clear greedy choices
    # Layer outputs large against the input embedding, so that tied models (gemma) do not just
    # repeat their last input token.
    out_scale = 4.0 if gemma else 1.0
    for il in range(L):
        b = 'blk.%d.' % il
        t.append((b + 'attn_norm.weight', norm(E)))
        if arch == 'phi3':
            t.append((b + 'attn_qkv.weight', mat(Q + 2 * KV, E)))
        else:
            t += [(b + 'attn_q.weight', mat(Q, E)), (b + 'attn_k.weight', mat(KV, E)), (b + 'attn_v.weight', mat(KV, E))]
        if arch == 'qwen2':
            t += [(b + 'attn_q.bias', (0.5 * rng.standard_normal(Q)).astype(np.float32)),
                  (b + 'attn_k.bias', (0.5 * rng.standard_normal(KV)).astype(np.float32)),
                  (b + 'attn_v.bias', (0.5 * rng.standard_normal(KV)).astype(np.float32))]
        t.append((b + 'attn_output.weight', mat(E, Q, out_scale / np.sqrt(Q))))
        if arch == 'gemma2':
            t += [(b + 'post_attention_norm.weight', norm(E)), (b + 'post_ffw_norm.weight', norm(E))]
        t.append((b + 'ffn_norm.weight', norm(E)))
        if arch == 'phi3':
            t.append((b + 'ffn_up.weight', mat(2 * F, E)))
        else:
            t += [(b + 'ffn_gate.weight', mat(F, E)), (b + 'ffn_up.weight', mat(F, E))]
        t.append((b + 'ffn_down.weight', mat(E, F, out_scale / np.sqrt(F))))
    return kvs, t


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else '.'
    os.makedirs(out, exist_ok=True)
    for i, arch in enumerate(['llama', 'qwen2', 'phi3', 'gemma', 'gemma2']):
        kvs, t = tiny(arch, 100 + i)
        path = os.path.join(out, 'tiny_%s.gguf' % arch)
        write_gguf(path, kvs, t)
        print(path)
    # The same llama weights as block-quantized and f16 matrices (llama.cpp and edgeai both
    # quantize the activations for q8_0/q4_0 dot products).
    kvs, t = tiny('llama', 100)
    for name, gtype in (('f16', GGML_F16), ('q8_0', GGML_Q8_0), ('q4_0', GGML_Q4_0)):
        path = os.path.join(out, 'tiny_llama_%s.gguf' % name)
        write_gguf(path, kvs, t, wtype=gtype)
        print(path)


if __name__ == '__main__':
    main()
