// Chat formats: recognition of the GGUF tokenizer.chat_template texts the families ship, and the
// prompts they produce. Oracle: the families' published prompt formats.
#include "llm/chat_template.h"

#include <gtest/gtest.h>

namespace edgeai::llm {
namespace {

TEST(LlmChatTemplate, RecognizesFamilies) {
  EXPECT_EQ(detect_chat_format("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}"),
            ChatFormat::kChatml);
  EXPECT_EQ(detect_chat_format("{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"),
            ChatFormat::kLlama3);
  EXPECT_EQ(detect_chat_format("{{'<|user|>' + '\\n' + message['content'] + '<|end|>' + '\\n'}}"), ChatFormat::kPhi3);
  EXPECT_EQ(detect_chat_format("{{ '<|user|>\\n' + message['content'] + eos_token }}"), ChatFormat::kZephyr);
  EXPECT_EQ(detect_chat_format("{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"),
            ChatFormat::kGemma);
  EXPECT_EQ(detect_chat_format("{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"), ChatFormat::kLlama2);
  EXPECT_EQ(detect_chat_format(""), ChatFormat::kChatml);
  EXPECT_EQ(detect_chat_format("something else"), ChatFormat::kChatml);
}

TEST(LlmChatTemplate, Formats) {
  std::vector<ChatMessage> m{{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "Bye"}};
  EXPECT_EQ(format_chat(ChatFormat::kChatml, m, true),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
            "Hello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(format_chat(ChatFormat::kLlama3, {{"user", "Hi"}}, true),
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(format_chat(ChatFormat::kPhi3, {{"user", "Hi"}}, true), "<|user|>\nHi<|end|>\n<|assistant|>\n");
  EXPECT_EQ(format_chat(ChatFormat::kZephyr, {{"system", "S"}, {"user", "Hi"}}, true),
            "<|system|>\nS</s>\n<|user|>\nHi</s>\n<|assistant|>\n");
  EXPECT_EQ(format_chat(ChatFormat::kGemma, m, true),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
            "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(format_chat(ChatFormat::kLlama2, m, true),
            "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello!</s><s>[INST] Bye [/INST]");
}

TEST(LlmChatTemplate, NamesRoundTrip) {
  for (ChatFormat f : {ChatFormat::kChatml, ChatFormat::kLlama2, ChatFormat::kLlama3, ChatFormat::kPhi3,
                       ChatFormat::kGemma, ChatFormat::kZephyr}) {
    ChatFormat g;
    ASSERT_TRUE(parse_chat_format(chat_format_name(f), &g));
    EXPECT_EQ(f, g);
    EXPECT_FALSE(chat_stop_strings(f).empty());
  }
  ChatFormat g;
  EXPECT_FALSE(parse_chat_format("jinja", &g));
}

}  // namespace
}  // namespace edgeai::llm
