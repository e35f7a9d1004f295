// Test helper shared by the suites that build preference-world sequences by
// hand: a response written as words, padded with "." to its fixed length.
#pragma once

#include <string_view>

#include "envs/preference/language.h"

namespace gradlab::test {

inline envs::preference::Tokens pad(std::string_view text, int64_t len = 8) {
  envs::preference::Tokens t = envs::preference::encode(text);
  t.resize(size_t(len), envs::preference::kEnd);
  return t;
}

}  // namespace gradlab::test
