// Character and word tokenizers.
#include "nn/tokenizer.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "tensor/error.h"

namespace gradlab::nn {

CharTokenizer CharTokenizer::from_string(const std::string& chars) {
  CharTokenizer t;
  for (unsigned char c : chars) {
    GL_CHECK(t.index_[c] == 0, "CharTokenizer: byte {} appears twice in the vocabulary", int(c));
    t.index_[c] = int16_t(t.chars_.size() + 1);
    t.chars_.push_back(char(c));
  }
  return t;
}

CharTokenizer CharTokenizer::build(const std::string& text) {
  bool seen[256] = {};
  for (unsigned char c : text) seen[c] = true;
  std::string chars;
  for (int c = 0; c < 256; ++c)
    if (seen[c]) chars.push_back(char(c));
  return from_string(chars);
}

std::vector<int64_t> CharTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    GL_CHECK(index_[c] != 0, "CharTokenizer::encode: byte {} at position {} is not in the vocabulary", int(c), i);
    ids.push_back(index_[c] - 1);
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t id : ids) {
    GL_CHECK(id >= 0 && id < vocab_size(), "CharTokenizer::decode: id {} is outside [0, {})", id, vocab_size());
    out.push_back(chars_[size_t(id)]);
  }
  return out;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

WordVocab WordVocab::from_string(const std::string& lines) {
  WordVocab v;
  std::istringstream in(lines);
  for (std::string w; std::getline(in, w);) {
    GL_CHECK(!w.empty(), "WordVocab: empty word at line {}", v.words_.size() + 1);
    GL_CHECK(v.index_.emplace(w, int64_t(v.words_.size())).second, "WordVocab: word '{}' appears twice", w);
    v.words_.push_back(w);
  }
  GL_CHECK(v.words_.size() >= 3 && v.words_[0] == "<pad>" && v.words_[1] == "<unk>" && v.words_[2] == "<eos>",
           "WordVocab: a vocabulary starts with <pad>, <unk>, <eos>");
  return v;
}

WordVocab WordVocab::build(const std::vector<std::string>& texts, int64_t max_size, int64_t min_count) {
  GL_CHECK(max_size >= 3, "WordVocab::build: max_size must be at least 3 (the special tokens), got {}", max_size);
  std::map<std::string, int64_t> counts;
  for (const std::string& t : texts)
    for (const std::string& w : split_words(t)) ++counts[w];
  std::vector<std::pair<std::string, int64_t>> ranked(counts.begin(), counts.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string lines = "<pad>\n<unk>\n<eos>\n";
  int64_t n = 3;
  for (const auto& [w, c] : ranked) {
    if (n >= max_size || c < min_count) break;
    if (w == "<pad>" || w == "<unk>" || w == "<eos>") continue;
    lines += w + "\n";
    ++n;
  }
  return from_string(lines);
}

int64_t WordVocab::id(const std::string& w) const {
  auto it = index_.find(w);
  return it == index_.end() ? kUnk : it->second;
}

const std::string& WordVocab::word(int64_t id) const {
  GL_CHECK(id >= 0 && id < size(), "WordVocab::word: id {} is outside [0, {})", id, size());
  return words_[size_t(id)];
}

std::vector<int64_t> WordVocab::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& w : split_words(text)) ids.push_back(id(w));
  return ids;
}

std::string WordVocab::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  for (int64_t i : ids) {
    if (i == kEos) break;
    if (i == kPad) continue;
    out += (out.empty() ? "" : " ") + word(i);
  }
  return out;
}

std::string WordVocab::to_string() const {
  std::string out;
  for (const std::string& w : words_) out += w + "\n";
  return out;
}

}  // namespace gradlab::nn
