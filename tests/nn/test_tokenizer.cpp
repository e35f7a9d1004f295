// Tokenizers: round trips, vocabulary order, unknown input, serialisation.
#include <doctest/doctest.h>

#include "nn/tokenizer.h"
#include "tensor/error.h"

using namespace gradlab;
using namespace gradlab::nn;

TEST_CASE("the char tokenizer round-trips its corpus") {
  const std::string text = "hello, world\n";
  const CharTokenizer t = CharTokenizer::build(text);
  CHECK(t.vocab_size() == 10);  // "\n ,dehlorw"
  CHECK(t.to_string() == "\n ,dehlorw");
  const std::vector<int64_t> ids = t.encode("hello");
  CHECK(ids == std::vector<int64_t>{5, 4, 6, 6, 7});  // h e l l o
  CHECK(t.decode(t.encode(text)) == text);
  CHECK(CharTokenizer::from_string(t.to_string()).encode(text) == t.encode(text));
  CHECK_THROWS_WITH_AS(t.encode("help"), "CharTokenizer::encode: byte 112 at position 3 is not in the vocabulary",
                       Error);
  CHECK_THROWS_WITH_AS(t.decode({10}), "CharTokenizer::decode: id 10 is outside [0, 10)", Error);
}

TEST_CASE("the word vocabulary keeps the most frequent words") {
  const WordVocab v = WordVocab::build({"the cat sat", "the dog sat on the mat"}, 6);
  CHECK(v.size() == 6);
  CHECK(v.word(3) == "the");  // 3 times
  CHECK(v.word(4) == "sat");  // 2 times
  CHECK(v.word(5) == "cat");  // then alphabetical among the singletons
  CHECK(v.encode("the dog sat") == std::vector<int64_t>{3, WordVocab::kUnk, 4});
  CHECK(v.decode({3, 5, WordVocab::kEos, 4}) == "the cat");
  CHECK(WordVocab::from_string(v.to_string()).encode("cat sat") == v.encode("cat sat"));
  CHECK(WordVocab::build({"a a b"}, 10, 2).size() == 4);  // min_count drops b
  CHECK_THROWS_WITH_AS(WordVocab::from_string("a\nb\n"), "WordVocab: a vocabulary starts with <pad>, <unk>, <eos>",
                       Error);
}
