// Chat prompt formats of the supported model families. There is no Jinja engine: the
// tokenizer.chat_template text in the GGUF is recognized by its marker tokens and mapped to one
// of these built-in formats (chatml when nothing is recognized, as llama.cpp does).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace edgeai::llm {

enum class ChatFormat { kChatml, kLlama2, kLlama3, kPhi3, kGemma, kZephyr };

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// From a tokenizer.chat_template text ("" = none in the file).
ChatFormat detect_chat_format(std::string_view jinja_template);
const char* chat_format_name(ChatFormat format);
// "chatml", "llama2", "llama3", "phi3", "gemma", "zephyr"; false when unknown.
bool parse_chat_format(std::string_view name, ChatFormat* out);

// The prompt text for a conversation, ending with the assistant's opening when
// add_assistant_prompt. No BOS: the tokenizer adds it (encode with add_special, parse_special).
std::string format_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_assistant_prompt);

// Text that ends an assistant turn in this format (besides the tokenizer's end-of-generation
// tokens): used as stop strings.
std::vector<std::string> chat_stop_strings(ChatFormat format);

}  // namespace edgeai::llm
