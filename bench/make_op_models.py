#!/usr/bin/python3
"""Single-op ONNX models for benchmarking one kernel against ONNX Runtime (bench/onnx_vs_ort.mjs
--files). Debian's python3-onnx and python3-numpy; writes OUTDIR/<name>.onnx.

  /usr/bin/python3 bench/make_op_models.py OUTDIR

Resize, in the shapes where networks use it:
  resize_linear_up2    [1,64,80,80] -> x2, linear, half_pixel (an FPN / U-Net upsample)
  resize_nearest_up2   [1,128,40,40] -> x2, nearest floor, asymmetric (YOLO's upsample)
  resize_cubic_up2     [1,32,64,64] -> x2, cubic, half_pixel
  resize_linear_down2  [1,3,480,640] -> x0.5, linear, pytorch_half_pixel (image preprocessing)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def resize_model(shape, scales, **attrs):
    out = [int(d * s) for d, s in zip(shape, scales)]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out)
    sc = numpy_helper.from_array(np.array(scales, dtype=np.float32), "scales")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], **attrs)
    graph = helper.make_graph([node], "resize", [x], [y], [sc])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


MODELS = {
    "resize_linear_up2": lambda: resize_model([1, 64, 80, 80], [1, 1, 2, 2], mode="linear",
                                              coordinate_transformation_mode="half_pixel"),
    "resize_nearest_up2": lambda: resize_model([1, 128, 40, 40], [1, 1, 2, 2], mode="nearest",
                                               coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    "resize_cubic_up2": lambda: resize_model([1, 32, 64, 64], [1, 1, 2, 2], mode="cubic",
                                             coordinate_transformation_mode="half_pixel"),
    "resize_linear_down2": lambda: resize_model([1, 3, 480, 640], [1, 1, 0.5, 0.5], mode="linear",
                                                coordinate_transformation_mode="pytorch_half_pixel"),
}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, make in MODELS.items():
        onnx.save(make(), os.path.join(out, name + ".onnx"))
        print(os.path.join(out, name + ".onnx"))


if __name__ == "__main__":
    main()
