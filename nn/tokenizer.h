// Tokenizers: a character-level one (each distinct byte of a corpus is a
// token, for the train_gpt demo) and a word-level vocabulary (the most
// frequent whitespace-separated words, plus <pad>, <unk> and <eos>). Both
// serialise to a string so a checkpoint can carry its tokenizer.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gradlab::nn {

class CharTokenizer {
 public:
  CharTokenizer() = default;
  // The sorted distinct bytes of text.
  static CharTokenizer build(const std::string& text);
  // From to_string()'s output.
  static CharTokenizer from_string(const std::string& chars);

  std::vector<int64_t> encode(const std::string& text) const;  // throws on a byte not in the vocabulary
  std::string decode(const std::vector<int64_t>& ids) const;   // throws on an id out of range
  int64_t vocab_size() const { return int64_t(chars_.size()); }
  const std::string& to_string() const { return chars_; }

 private:
  std::string chars_;        // id -> byte
  int16_t index_[256] = {};  // byte -> id + 1 (0: absent)
};

class WordVocab {
 public:
  static constexpr int64_t kPad = 0, kUnk = 1, kEos = 2;
  WordVocab() = default;
  // The max_size - 3 most frequent words occurring at least min_count times
  // (ties broken alphabetically), after <pad>, <unk>, <eos>.
  static WordVocab build(const std::vector<std::string>& texts, int64_t max_size, int64_t min_count = 1);
  static WordVocab from_string(const std::string& words);  // one word per line, as to_string() writes

  std::vector<int64_t> encode(const std::string& text) const;  // unknown words map to <unk>
  std::string decode(const std::vector<int64_t>& ids) const;   // words joined by spaces; stops at <eos>
  int64_t id(const std::string& word) const;                   // <unk>'s id when absent
  const std::string& word(int64_t id) const;                   // throws when out of range
  int64_t size() const { return int64_t(words_.size()); }
  std::string to_string() const;

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> index_;
};

// Splits on whitespace.
std::vector<std::string> split_words(const std::string& text);

}  // namespace gradlab::nn
