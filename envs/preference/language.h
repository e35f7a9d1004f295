// The preference world's synthetic language: 47 readable words (one token
// each), four prompt families, fixed-length prompts and responses, and a
// prompt-conditioned grammar that generates the pretraining corpus from which
// SFT makes the reference policy. A response is `response_len` tokens; its
// body is the tokens before the first "." (the end token); after the end the
// response is padded with ".".
//
//   prompt   = [family word, target noun, adjective, end noun]   "tell cat happy moon"
//   response = a sentence such as "the happy cat sees a moon ." (then "." padding)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/random.h"

namespace gradlab::envs::preference {

using Tokens = std::vector<int64_t>;

// ---- the vocabulary ----
inline constexpr int64_t kEnd = 0;  // "." ends a response and pads it
enum class WordClass { end, family, noun, verb, positive, negative, function };
int64_t vocab_size();                        // 47
const std::string& word(int64_t id);         // throws when out of range
int64_t word_id(std::string_view w);         // throws for an unknown word
WordClass word_class(int64_t id);            // throws when out of range
std::vector<int64_t> words_of(WordClass c);  // ids of one class, ascending
// Space-separated words; a "." and everything after it are printed as they are.
std::string decode(const Tokens& ids);
Tokens encode(std::string_view text);  // split on spaces; throws for an unknown word
// The tokens before the first kEnd.
Tokens response_body(const Tokens& response);
bool is_terminated(const Tokens& response);  // contains kEnd

// ---- prompts ----
// The family is the prompt's first word and decides which task it belongs to
// in the evolving-preference sequence (datasets.h).
enum class Family { tell, ask, write, show };
inline constexpr int kFamilies = 4;
const char* family_name(Family f);
Family family_from_name(std::string_view name);  // throws for an unknown name
Family family_of(const Tokens& prompt);          // from the first token; throws if not a family word

struct WorldConfig {
  int64_t prompt_len = 4;    // fixed: family, target noun, adjective, end noun
  int64_t response_len = 8;  // tokens per response (body + "." padding)
};
void check_prompt(const Tokens& prompt, std::string_view where);
void check_response(const Tokens& response, const WorldConfig& config, std::string_view where);

// A prompt of the family: [family, noun, adjective, noun] with the two nouns distinct.
Tokens sample_prompt(Family family, Generator& gen);
// A prompt of a family drawn uniformly from `families` (all four when empty).
Tokens sample_prompt(const std::vector<Family>& families, Generator& gen);

// ---- the pretraining corpus ----
// A sentence NP verb NP ["and" NP] "." where NP = [the|a] [very] [adjective] noun.
// Each noun is the prompt's target noun with probability p_target, its end
// noun with p_end_noun, else uniform; each adjective is the prompt's with
// probability p_prompt_adjective. The sentence is cut or padded with "." to
// response_len tokens.
struct GrammarConfig {
  double p_target = 0.2;
  double p_end_noun = 0.15;
  double p_determiner = 0.6;
  double p_adjective = 0.35;
  double p_very = 0.1;
  double p_not = 0.08;  // "not" before an adjective
  double p_prompt_adjective = 0.4;
  double p_and = 0.25;
};
Tokens sample_response(const Tokens& prompt, const WorldConfig& world, const GrammarConfig& grammar, Generator& gen);

// One training example: a prompt and a response (and where it came from).
struct Sequence {
  Tokens prompt, response;
  bool injected = false;  // an outdated/erroneous example planted by inject_outdated (datasets.h)
};
std::vector<Sequence> make_corpus(int64_t n, const std::vector<Family>& families, const WorldConfig& world,
                                  const GrammarConfig& grammar, Generator& gen);

// Scalar draws from a Generator's Philox stream, one block per draw (tensor/random.h).
using gradlab::uniform01;    // [0, 1)
using gradlab::uniform_int;  // [0, n)

}  // namespace gradlab::envs::preference
