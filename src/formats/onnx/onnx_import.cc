#include "formats/onnx/onnx_import.h"
