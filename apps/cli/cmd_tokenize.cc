// edgeai tokenize MODEL.gguf --text TEXT [--json] [--special]: the token ids of a text under the
// model's tokenizer. Without --special no BOS/EOS is added and special-token text is plain text.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "formats/gguf/gguf.h"
#include "llm/tokenizer.h"

namespace edgeai::cli {

Command add_tokenize(CLI::App& app) {
  struct Opts {
    std::string model, text;
    bool json = false, special = false, pieces = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = app.add_subcommand("tokenize", "Print the token ids of a text under a GGUF model's tokenizer");
  sub->add_option("model", o->model, "GGUF model or vocabulary file")->required();
  sub->add_option("--text", o->text, "Text to tokenize")->required();
  sub->add_flag("--json", o->json, "Print {\"tokens\":[...]}");
  sub->add_flag("--special", o->special, "Add BOS/EOS as the model says and parse special-token text");
  sub->add_flag("--pieces", o->pieces, "Also print each token's text");
  return [o]() -> int {
    auto file = formats::GgufFile::open(o->model);
    if (!file.ok()) return fail(file.status().message());
    auto tok = llm::Tokenizer::from_gguf(**file);
    if (!tok.ok()) return fail(tok.status().message());
    const std::vector<int32_t> ids = (*tok)->encode(o->text, o->special, o->special);
    if (o->json) {
      nlohmann::json j{{"tokens", ids}};
      if (o->pieces) {
        nlohmann::json p = nlohmann::json::array();
        for (int32_t id : ids) p.push_back((*tok)->token_to_piece(id, true));
        j["pieces"] = p;
      }
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      return 0;
    }
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) line += ' ';
      line += std::to_string(ids[i]);
    }
    std::printf("%s\n", line.c_str());
    if (o->pieces) {
      for (int32_t id : ids) {
        const std::string piece = nlohmann::json((*tok)->token_to_piece(id, true))
                                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        std::printf("%8d %s\n", id, piece.c_str());
      }
    }
    return 0;
  };
}

}  // namespace edgeai::cli
