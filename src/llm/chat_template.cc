#include "llm/chat_template.h"

namespace edgeai::llm {

namespace {
bool has(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }
}  // namespace

ChatFormat detect_chat_format(std::string_view t) {
  if (has(t, "<|im_start|>")) return ChatFormat::kChatml;
  if (has(t, "<|start_header_id|>")) return ChatFormat::kLlama3;
  if (has(t, "<start_of_turn>")) return ChatFormat::kGemma;
  if (has(t, "<|user|>") && has(t, "<|end|>")) return ChatFormat::kPhi3;
  if (has(t, "<|user|>")) return ChatFormat::kZephyr;  // zephyr / TinyLlama-chat: turns end with </s>
  if (has(t, "[INST]")) return ChatFormat::kLlama2;     // llama2-chat, mistral-instruct
  return ChatFormat::kChatml;
}

const char* chat_format_name(ChatFormat f) {
  switch (f) {
    case ChatFormat::kChatml: return "chatml";
    case ChatFormat::kLlama2: return "llama2";
    case ChatFormat::kLlama3: return "llama3";
    case ChatFormat::kPhi3: return "phi3";
    case ChatFormat::kGemma: return "gemma";
    case ChatFormat::kZephyr: return "zephyr";
  }
  return "?";
}

bool parse_chat_format(std::string_view name, ChatFormat* out) {
  for (ChatFormat f : {ChatFormat::kChatml, ChatFormat::kLlama2, ChatFormat::kLlama3, ChatFormat::kPhi3,
                       ChatFormat::kGemma, ChatFormat::kZephyr}) {
    if (name == chat_format_name(f)) {
      *out = f;
      return true;
    }
  }
  return false;
}

std::string format_chat(ChatFormat f, const std::vector<ChatMessage>& msgs, bool add_assistant_prompt) {
  std::string s;
  switch (f) {
    case ChatFormat::kChatml:
      for (const auto& m : msgs) s += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_assistant_prompt) s += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kLlama3:
      for (const auto& m : msgs) s += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      if (add_assistant_prompt) s += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::kPhi3:
      for (const auto& m : msgs) s += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
      if (add_assistant_prompt) s += "<|assistant|>\n";
      break;
    case ChatFormat::kZephyr:
      for (const auto& m : msgs) s += "<|" + m.role + "|>\n" + m.content + "</s>\n";
      if (add_assistant_prompt) s += "<|assistant|>\n";
      break;
    case ChatFormat::kGemma: {
      // No system role: the system text leads the first user turn.
      std::string pending_system;
      for (const auto& m : msgs) {
        if (m.role == "system") {
          pending_system += m.content + "\n\n";
          continue;
        }
        std::string role = m.role == "assistant" ? "model" : m.role;
        std::string content = m.content;
        if (role == "user" && !pending_system.empty()) {
          content = pending_system + content;
          pending_system.clear();
        }
        s += "<start_of_turn>" + role + "\n" + content + "<end_of_turn>\n";
      }
      if (add_assistant_prompt) s += "<start_of_turn>model\n";
      break;
    }
    case ChatFormat::kLlama2: {
      // [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer</s><s>[INST] user [/INST]
      std::string system;
      bool first_user = true;
      for (const auto& m : msgs) {
        if (m.role == "system") {
          system += m.content;
        } else if (m.role == "user") {
          if (!first_user) s += "<s>";
          s += "[INST] ";
          if (!system.empty()) {
            s += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
            system.clear();
          }
          s += m.content + " [/INST]";
          first_user = false;
        } else {
          s += " " + m.content + "</s>";
        }
      }
      (void)add_assistant_prompt;  // the assistant's turn starts right after [/INST]
      break;
    }
  }
  return s;
}

std::vector<std::string> chat_stop_strings(ChatFormat f) {
  switch (f) {
    case ChatFormat::kChatml: return {"<|im_end|>", "<|im_start|>"};
    case ChatFormat::kLlama3: return {"<|eot_id|>", "<|start_header_id|>"};
    case ChatFormat::kPhi3: return {"<|end|>", "<|user|>"};
    case ChatFormat::kZephyr: return {"</s>", "<|user|>"};
    case ChatFormat::kGemma: return {"<end_of_turn>", "<start_of_turn>"};
    case ChatFormat::kLlama2: return {"</s>", "[INST]"};
  }
  return {};
}

}  // namespace edgeai::llm
