#!/usr/bin/env python3
"""Writes the soak benchmark's small model: an MLP 64 -> 32 -> 10 (Gemm, Relu, Gemm), opset 13,
fixed pseudo-random weights. Encodes the ONNX protobuf by hand, so it needs nothing beyond Python.
Usage: make_soak_model.py OUT.onnx"""
import random
import struct
import sys


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    return key + varint(len(payload)) + payload


def s(num, text):
    return field(num, 2, text.encode())


def tensor(name, dims, values):
    body = b"".join(field(1, 0, d) for d in dims) + field(2, 0, 1) + s(8, name)
    return body + field(9, 2, struct.pack("<%df" % len(values), *values))


def value_info(name, dims):
    shape = b"".join(field(1, 2, field(1, 0, d)) for d in dims)
    tensor_type = field(1, 0, 1) + field(2, 2, shape)
    return s(1, name) + field(2, 2, field(1, 2, tensor_type))


def node(op, inputs, outputs, name):
    return b"".join(s(1, i) for i in inputs) + b"".join(s(2, o) for o in outputs) + s(3, name) + s(4, op)


rng = random.Random(7)
w1 = [rng.uniform(-0.25, 0.25) for _ in range(64 * 32)]
b1 = [rng.uniform(-0.1, 0.1) for _ in range(32)]
w2 = [rng.uniform(-0.4, 0.4) for _ in range(32 * 10)]
b2 = [rng.uniform(-0.1, 0.1) for _ in range(10)]
graph = (field(1, 2, node("Gemm", ["x", "w1", "b1"], ["h"], "fc1")) +
         field(1, 2, node("Relu", ["h"], ["r"], "relu")) +
         field(1, 2, node("Gemm", ["r", "w2", "b2"], ["y"], "fc2")) + s(2, "soak_mlp") +
         field(5, 2, tensor("w1", [64, 32], w1)) + field(5, 2, tensor("b1", [32], b1)) +
         field(5, 2, tensor("w2", [32, 10], w2)) + field(5, 2, tensor("b2", [10], b2)) +
         field(11, 2, value_info("x", [1, 64])) + field(12, 2, value_info("y", [1, 10])))
model = field(1, 0, 7) + s(2, "edgeai bench/make_soak_model.py") + field(7, 2, graph) + field(8, 2, s(1, "") + field(2, 0, 13))
with open(sys.argv[1], "wb") as f:
    f.write(model)
