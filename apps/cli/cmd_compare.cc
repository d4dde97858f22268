// edgeai compare GOT EXPECTED [--rtol R] [--atol A] [--json]: compares two tensor files.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "core/compare.h"
#include "model_io.h"

namespace edgeai::cli {

Command add_compare(CLI::App& app) {
  struct Opts {
    std::string got, expected;
    double rtol = 1e-4, atol = 1e-5;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("compare", "Compare two tensor files (.npy or .pb) within tolerances");
  sub->add_option("got", o->got, "Tensor to check")->required();
  sub->add_option("expected", o->expected, "Reference tensor")->required();
  sub->add_option("--rtol", o->rtol, "Relative tolerance")->capture_default_str();
  sub->add_option("--atol", o->atol, "Absolute tolerance")->capture_default_str();
  sub->add_flag("--json", o->json, "Print one JSON object");
  return [o]() -> int {
    auto a = load_tensor_file(o->got);
    if (!a.ok()) return fail(a.status().message());
    auto b = load_tensor_file(o->expected);
    if (!b.ok()) return fail(b.status().message());
    CompareResult r = compare_tensors(*a, *b, o->rtol, o->atol);
    if (o->json) {
      nlohmann::json j{{"equal", r.equal}, {"max_abs_error", r.max_abs_error}, {"mismatches", r.mismatches},
                       {"message", r.message}};
      std::printf("%s\n", j.dump().c_str());
    } else if (r.equal) {
      std::printf("equal within rtol %g atol %g (max abs error %.3g)\n", o->rtol, o->atol, r.max_abs_error);
    } else {
      std::printf("differ: %s (max abs error %.3g)\n", r.message.c_str(), r.max_abs_error);
    }
    return r.equal ? 0 : 2;
  };
}

}  // namespace edgeai::cli
