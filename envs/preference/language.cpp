// The preference world's vocabulary, prompts and pretraining grammar.
#include "envs/preference/language.h"

#include <array>

#include "tensor/error.h"

namespace gradlab::envs::preference {

namespace {

struct Entry {
  const char* word;
  WordClass cls;
};

// Order fixes the token ids: "." is 0, then the classes in blocks.
const std::vector<Entry>& table() {
  static const std::vector<Entry> t = [] {
    std::vector<Entry> e;
    e.push_back({".", WordClass::end});
    for (const char* w : {"tell", "ask", "write", "show"}) e.push_back({w, WordClass::family});
    for (const char* w : {"cat", "dog", "bird", "fish", "tree", "sun", "moon", "rain", "star", "ship", "road", "house",
                          "king", "child", "river", "stone"})
      e.push_back({w, WordClass::noun});
    for (const char* w : {"sees", "likes", "finds", "holds", "makes", "sings", "eats", "meets"})
      e.push_back({w, WordClass::verb});
    for (const char* w : {"good", "happy", "bright", "kind", "warm", "calm"}) e.push_back({w, WordClass::positive});
    for (const char* w : {"bad", "sad", "dark", "cruel", "cold", "angry"}) e.push_back({w, WordClass::negative});
    for (const char* w : {"the", "a", "and", "very", "not", "with"}) e.push_back({w, WordClass::function});
    return e;
  }();
  return t;
}

int64_t pick(const std::vector<int64_t>& ids, Generator& gen) {
  return ids[size_t(uniform_int(int64_t(ids.size()), gen))];
}

}  // namespace

int64_t vocab_size() { return int64_t(table().size()); }

const std::string& word(int64_t id) {
  GL_CHECK(id >= 0 && id < vocab_size(), "preference::word: token {} is outside [0, {})", id, vocab_size());
  static const std::vector<std::string> words = [] {
    std::vector<std::string> w;
    for (const auto& e : table()) w.emplace_back(e.word);
    return w;
  }();
  return words[size_t(id)];
}

int64_t word_id(std::string_view w) {
  for (int64_t i = 0; i < vocab_size(); ++i)
    if (w == table()[size_t(i)].word) return i;
  fail("preference::word_id: unknown word '{}'", w);
}

WordClass word_class(int64_t id) {
  GL_CHECK(id >= 0 && id < vocab_size(), "preference::word_class: token {} is outside [0, {})", id, vocab_size());
  return table()[size_t(id)].cls;
}

std::vector<int64_t> words_of(WordClass c) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < vocab_size(); ++i)
    if (table()[size_t(i)].cls == c) out.push_back(i);
  return out;
}

std::string decode(const Tokens& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ' ';
    s += word(ids[i]);
  }
  return s;
}

Tokens encode(std::string_view text) {
  Tokens out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    if (j > i) out.push_back(word_id(text.substr(i, j - i)));
    i = j;
  }
  return out;
}

Tokens response_body(const Tokens& response) {
  Tokens body;
  for (int64_t t : response) {
    if (t == kEnd) break;
    body.push_back(t);
  }
  return body;
}

bool is_terminated(const Tokens& response) {
  for (int64_t t : response)
    if (t == kEnd) return true;
  return false;
}

const char* family_name(Family f) {
  static const std::array<const char*, kFamilies> names = {"tell", "ask", "write", "show"};
  return names[size_t(f)];
}

Family family_from_name(std::string_view name) {
  for (int f = 0; f < kFamilies; ++f)
    if (name == family_name(Family(f))) return Family(f);
  fail("preference: unknown prompt family '{}' (tell, ask, write, show)", name);
}

Family family_of(const Tokens& prompt) {
  GL_CHECK(!prompt.empty() && prompt[0] >= 0 && prompt[0] < vocab_size() && word_class(prompt[0]) == WordClass::family,
           "preference::family_of: a prompt of {} tokens whose first token {} is not a family word", prompt.size(),
           prompt.empty() ? int64_t(-1) : prompt[0]);
  return family_from_name(word(prompt[0]));
}

void check_prompt(const Tokens& prompt, std::string_view where) {
  GL_CHECK(prompt.size() == 4, "{}: a prompt has 4 tokens, got {}", where, prompt.size());
  for (int64_t t : prompt)
    GL_CHECK(t >= 0 && t < vocab_size(), "{}: prompt token {} is outside [0, {})", where, t, vocab_size());
  GL_CHECK(word_class(prompt[0]) == WordClass::family && word_class(prompt[1]) == WordClass::noun &&
               word_class(prompt[3]) == WordClass::noun,
           "{}: '{}' is not a prompt [family noun adjective noun]", where, decode(prompt));
}

void check_response(const Tokens& response, const WorldConfig& config, std::string_view where) {
  GL_CHECK(int64_t(response.size()) == config.response_len, "{}: a response has {} tokens, got {}", where,
           config.response_len, response.size());
  bool ended = false;
  for (int64_t t : response) {
    GL_CHECK(t >= 0 && t < vocab_size(), "{}: response token {} is outside [0, {})", where, t, vocab_size());
    GL_CHECK(!ended || t == kEnd, "{}: response '{}' has words after its end '.'", where, decode(response));
    ended = ended || t == kEnd;
  }
}

Tokens sample_prompt(Family family, Generator& gen) {
  const std::vector<int64_t> nouns = words_of(WordClass::noun);
  std::vector<int64_t> adjectives = words_of(WordClass::positive);
  for (int64_t a : words_of(WordClass::negative)) adjectives.push_back(a);
  const int64_t target = pick(nouns, gen);
  int64_t end_noun = target;
  while (end_noun == target) end_noun = pick(nouns, gen);
  return {word_id(family_name(family)), target, pick(adjectives, gen), end_noun};
}

Tokens sample_prompt(const std::vector<Family>& families, Generator& gen) {
  if (families.empty()) return sample_prompt(Family(uniform_int(kFamilies, gen)), gen);
  return sample_prompt(families[size_t(uniform_int(int64_t(families.size()), gen))], gen);
}

Tokens sample_response(const Tokens& prompt, const WorldConfig& world, const GrammarConfig& g, Generator& gen) {
  check_prompt(prompt, "preference::sample_response");
  GL_CHECK(world.response_len >= 1, "preference::sample_response: response_len must be >= 1, got {}",
           world.response_len);
  static const std::vector<int64_t> nouns = words_of(WordClass::noun), verbs = words_of(WordClass::verb);
  static const std::vector<int64_t> adjectives = [] {
    std::vector<int64_t> a = words_of(WordClass::positive);
    for (int64_t x : words_of(WordClass::negative)) a.push_back(x);
    return a;
  }();
  static const int64_t the = word_id("the"), a = word_id("a"), very = word_id("very"), not_ = word_id("not"),
                       and_ = word_id("and");
  Tokens s;
  auto noun_phrase = [&] {
    if (uniform01(gen) < g.p_determiner) s.push_back(uniform01(gen) < 0.5 ? the : a);
    if (uniform01(gen) < g.p_adjective) {
      const double u = uniform01(gen);
      if (u < g.p_very)
        s.push_back(very);
      else if (u < g.p_very + g.p_not)
        s.push_back(not_);
      s.push_back(uniform01(gen) < g.p_prompt_adjective ? prompt[2] : pick(adjectives, gen));
    }
    const double u = uniform01(gen);
    s.push_back(u < g.p_target ? prompt[1] : u < g.p_target + g.p_end_noun ? prompt[3] : pick(nouns, gen));
  };
  noun_phrase();
  s.push_back(pick(verbs, gen));
  noun_phrase();
  if (uniform01(gen) < g.p_and) {
    s.push_back(and_);
    noun_phrase();
  }
  s.push_back(kEnd);
  s.resize(size_t(world.response_len), kEnd);  // cut a long sentence, pad a short one
  return s;
}

std::vector<Sequence> make_corpus(int64_t n, const std::vector<Family>& families, const WorldConfig& world,
                                  const GrammarConfig& grammar, Generator& gen) {
  GL_CHECK(n >= 0, "preference::make_corpus: n must be >= 0, got {}", n);
  std::vector<Sequence> out;
  out.reserve(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    Sequence s;
    s.prompt = sample_prompt(families, gen);
    s.response = sample_response(s.prompt, world, grammar, gen);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace gradlab::envs::preference
