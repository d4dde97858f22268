// libFuzzer target: arbitrary bytes as an ONNX model, read (protobuf's parse) and in place (the
// mapped load's own walk of the wire format). Loading and ordering the graph must return a
// Status, never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>

#include "formats/onnx/onnx_import.h"
#include "ir/graph.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in_place = edgeai::formats::load_onnx_in_place(nullptr, data, size, "/nonexistent");
  if (in_place.ok()) (void)in_place->graph->parameter_count();
  auto m = edgeai::formats::load_onnx_from_memory(data, size, "/nonexistent");
  if (in_place.ok() != m.ok()) __builtin_trap();  // the two loads must agree on what is a model
  if (!m.ok()) return 0;
  const edgeai::ir::Graph& g = *m->graph;
  (void)g.op_histogram();
  (void)g.parameter_count();
  auto order = edgeai::ir::topological_order(g, {});
  (void)order;
  return 0;
}
