// Stop strings over streamed text: holds back text that could be the start of a stop string,
// and reports a complete one (used by generate() and the server's batched decoding).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace edgeai::llm {

// Holds back text that could be the start of a stop string; reports a full match.
class StopMatcher {
 public:
  StopMatcher() = default;
  explicit StopMatcher(const std::vector<std::string>& stops) {
    for (const auto& s : stops)
      if (!s.empty()) stops_.push_back(s);
  }
  // Adds text; returns what can be released now. *hit is set when a stop string completed (the
  // text before it is released, the rest dropped).
  std::string push(std::string_view text, bool* hit) {
    buf_ += text;
    *hit = false;
    size_t first = std::string::npos;
    for (const auto& s : stops_) first = std::min(first, buf_.find(s));
    if (first != std::string::npos) {
      *hit = true;
      std::string out = buf_.substr(0, first);
      buf_.clear();
      return out;
    }
    // Longest suffix of buf_ that is a proper prefix of a stop string.
    size_t hold = 0;
    for (const auto& s : stops_) {
      for (size_t len = std::min(s.size() - 1, buf_.size()); len > hold; --len) {
        if (buf_.compare(buf_.size() - len, len, s, 0, len) == 0) {
          hold = len;
          break;
        }
      }
    }
    std::string out = buf_.substr(0, buf_.size() - hold);
    buf_.erase(0, buf_.size() - hold);
    return out;
  }
  std::string flush() {
    std::string out;
    out.swap(buf_);
    return out;
  }

 private:
  std::vector<std::string> stops_;
  std::string buf_;
};

}  // namespace edgeai::llm
