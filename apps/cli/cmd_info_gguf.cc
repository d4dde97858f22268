#include "commands.h"

namespace edgeai::cli {

int info_gguf(const std::string& path, bool json) { return fail(path + ": GGUF support is not built yet"); }

}  // namespace edgeai::cli
