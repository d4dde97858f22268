#!/usr/bin/env python3
"""Independent GGUF reader (standard library only): the oracle for tests/formats/gguf_test.cc.

  gguf_dump.py FILE.gguf            one JSON object: version, alignment, metadata (type, scalar
                                    value or array element type / length / first and last element),
                                    tensors (name, dims, type, offset)
  gguf_dump.py --write-seed OUT     a small GGUF v3 with every metadata type (nested array too) and
                                    a few tensors: a fuzzing seed that reaches the tensor code

Written from the GGUF specification (ggml docs/gguf.md), not from edgeai's reader.
"""
import json
import struct
import sys
import zlib

TYPES = {0: "u8", 1: "i8", 2: "u16", 3: "i16", 4: "u32", 5: "i32", 6: "f32", 7: "bool",
         8: "string", 9: "array", 10: "u64", 11: "i64", 12: "f64"}
FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
       12: "<d"}


class Reader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.d[self.p:self.p + n]
        if len(s) != n:
            raise ValueError("string past the end")
        self.p += n
        try:
            return s.decode("utf-8")
        except UnicodeDecodeError:  # not UTF-8 (some vocabularies hold raw bytes): give the bytes
            return {"hex": s.hex()}

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et = self.take("<I")
            n = self.take("<Q")
            start = self.p
            items = [self.value(et) for _ in range(n)]
            return (et, items, self.d[start:self.p])
        return self.take(FMT[t])


def describe(t, v):
    if t == 9:
        et, items, raw = v
        out = {"type": "array", "elem": TYPES[et], "n": len(items)}
        if items and et != 9:
            out["first"], out["last"] = items[0], items[-1]
            # CRC-32 (zlib) over every element as stored (strings with their u64 length prefix).
            out["crc32"] = "%08x" % zlib.crc32(raw)
        return out
    return {"type": TYPES[t], "value": v}


def dump(path):
    with open(path, "rb") as f:
        r = Reader(f.read())
    if r.d[:4] != b"GGUF":
        raise ValueError("not GGUF")
    r.p = 4
    version = r.take("<I")
    n_tensors = r.take("<Q")
    n_kv = r.take("<Q")
    meta = {}
    alignment = 32
    for _ in range(n_kv):
        key = r.string()
        t = r.take("<I")
        v = r.value(t)
        meta[key] = describe(t, v)
        if key == "general.alignment":
            alignment = v
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        dims = [r.take("<Q") for _ in range(nd)]
        tensors.append({"name": name, "dims": dims, "type": r.take("<I"), "offset": r.take("<Q")})
    data_offset = (r.p + alignment - 1) // alignment * alignment
    return {"version": version, "alignment": alignment, "data_offset": data_offset,
            "n_kv": n_kv, "metadata": meta, "tensors": tensors}


def write_seed(path):
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv = [
        ("general.architecture", 8, s("llama")),
        ("seed.u8", 0, struct.pack("<B", 200)), ("seed.i8", 1, struct.pack("<b", -5)),
        ("seed.u16", 2, struct.pack("<H", 60000)), ("seed.i16", 3, struct.pack("<h", -300)),
        ("seed.u32", 4, struct.pack("<I", 4000000000)), ("seed.i32", 5, struct.pack("<i", -7)),
        ("seed.f32", 6, struct.pack("<f", 1.5)), ("seed.bool", 7, struct.pack("<B", 1)),
        ("seed.u64", 10, struct.pack("<Q", 1 << 40)), ("seed.i64", 11, struct.pack("<q", -(1 << 40))),
        ("seed.f64", 12, struct.pack("<d", 2.25)),
        ("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 3) + s("<unk>") + s("a") + s("b")),
        ("tokenizer.ggml.scores", 9, struct.pack("<IQ", 6, 3) + struct.pack("<3f", 0, -1, -2)),
        ("seed.nested", 9, struct.pack("<IQ", 9, 2) + struct.pack("<IQ", 5, 1) + struct.pack("<i", 3)
         + struct.pack("<IQ", 8, 1) + s("x")),
    ]
    # (name, dims, ggml type, bytes per element or block info)
    tensors = [("token_embd.weight", [4, 3], 0, 4 * 3 * 4), ("blk.0.attn_q.weight", [4, 4], 1, 16 * 2),
               ("blk.0.ffn_up.weight", [32, 2], 8, 2 * 34)]
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for k, t, v in kv:
        out += s(k) + struct.pack("<I", t) + v
    off = 0
    for name, dims, t, nbytes in tensors:
        out += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", t, off)
        off += (nbytes + 31) // 32 * 32
    out += b"\0" * ((32 - len(out) % 32) % 32)
    for i, (_, _, _, nbytes) in enumerate(tensors):
        out += bytes((i * 7 + j) % 251 for j in range(nbytes))
        out += b"\0" * ((32 - nbytes % 32) % 32)
    with open(path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-seed":
        write_seed(sys.argv[2])
    elif len(sys.argv) == 2:
        print(json.dumps(dump(sys.argv[1]), ensure_ascii=False))
    else:
        sys.exit(__doc__)
