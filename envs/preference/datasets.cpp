// Preference pairs, rankings, evolving tasks, injected errors and JSONL files
// of the preference world (see datasets.h).
#include "envs/preference/datasets.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "nn/json.h"
#include "tensor/atomic_file.h"
#include "tensor/error.h"

namespace gradlab::envs::preference {

namespace {

double sigmoid(double z) { return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z)); }

void check_label_config(const LabelConfig& c, std::string_view where) {
  GL_CHECK(c.noise >= 0 && c.noise <= 0.5, "{}: label noise must be in [0, 0.5], got {}", where, c.noise);
  GL_CHECK(c.bt_beta >= 0 && std::isfinite(c.bt_beta), "{}: bt_beta must be finite and >= 0, got {}", where, c.bt_beta);
}

}  // namespace

bool label_pair(const Tokens& prompt, const Tokens& y1, const Tokens& y2, const LabelConfig& config, Generator& gen,
                PreferencePair& out) {
  check_label_config(config, "preference::label_pair");
  const double r1 = gold_reward(config.reward, prompt, y1, config.gold);
  const double r2 = gold_reward(config.reward, prompt, y2, config.gold);
  if (r1 == r2 && config.drop_ties) return false;
  bool first_wins;
  if (config.bt_beta > 0) {
    first_wins = uniform01(gen) < sigmoid(config.bt_beta * (r1 - r2));  // Bradley-Terry: P(y1 > y2)
  } else {
    first_wins = r1 == r2 ? uniform01(gen) < 0.5 : r1 > r2;
  }
  const bool flip = config.noise > 0 && uniform01(gen) < config.noise;
  if (flip) first_wins = !first_wins;
  out.prompt = prompt;
  out.chosen = first_wins ? y1 : y2;
  out.rejected = first_wins ? y2 : y1;
  out.gold_chosen = first_wins ? r1 : r2;
  out.gold_rejected = first_wins ? r2 : r1;
  out.flipped = flip;
  out.injected = false;
  return true;
}

std::vector<PreferencePair> make_pair_dataset(int64_t n_prompts, const std::vector<Family>& families,
                                              const WorldConfig& world, const GrammarConfig& grammar,
                                              const LabelConfig& config, Generator& gen, int tries) {
  GL_CHECK(n_prompts >= 0 && tries >= 1, "preference::make_pair_dataset: need n_prompts >= 0 and tries >= 1, got {} {}",
           n_prompts, tries);
  std::vector<PreferencePair> out;
  for (int64_t i = 0; i < n_prompts; ++i) {
    const Tokens prompt = sample_prompt(families, gen);
    for (int k = 0; k < tries; ++k) {
      const Tokens y1 = sample_response(prompt, world, grammar, gen), y2 = sample_response(prompt, world, grammar, gen);
      PreferencePair p;
      if (label_pair(prompt, y1, y2, config, gen, p)) {
        out.push_back(std::move(p));
        break;
      }
    }
  }
  return out;
}

double measured_error_rate(const std::vector<PreferencePair>& pairs) {
  GL_CHECK(!pairs.empty(), "preference::measured_error_rate: no pairs");
  int64_t wrong = 0;
  for (const auto& p : pairs) wrong += p.gold_chosen < p.gold_rejected;
  return double(wrong) / double(pairs.size());
}

Ranking label_ranking(const Tokens& prompt, const std::vector<Tokens>& responses, const LabelConfig& config,
                      Generator& gen) {
  check_label_config(config, "preference::label_ranking");
  GL_CHECK(responses.size() >= 2, "preference::label_ranking: need at least 2 responses, got {}", responses.size());
  std::vector<double> r =
      gold_rewards(config.reward, std::vector<Tokens>(responses.size(), prompt), responses, config.gold);
  std::vector<size_t> order;
  if (config.bt_beta > 0) {
    // Plackett-Luce: repeatedly draw the next best with probability prop. to exp(beta r*).
    std::vector<size_t> left(responses.size());
    std::iota(left.begin(), left.end(), 0);
    while (!left.empty()) {
      double top = r[left.front()];  // the largest reward still to draw (so that no weight underflows to 0)
      for (size_t i : left) top = std::max(top, r[i]);
      std::vector<double> w;
      double total = 0;
      for (size_t i : left) total += w.emplace_back(std::exp(config.bt_beta * (r[i] - top)));
      double u = uniform01(gen) * total;
      size_t k = 0;
      while (k + 1 < left.size() && u >= w[k]) u -= w[k++];
      order.push_back(left[k]);
      left.erase(left.begin() + std::ptrdiff_t(k));
    }
  } else {
    order.resize(responses.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return r[a] > r[b]; });
  }
  Ranking out;
  out.prompt = prompt;
  if (config.noise > 0 && uniform01(gen) < config.noise) {
    const size_t j = size_t(uniform_int(int64_t(order.size()) - 1, gen));
    std::swap(order[j], order[j + 1]);
    out.perturbed = true;
  }
  for (size_t i : order) {
    out.responses.push_back(responses[i]);
    out.gold.push_back(r[i]);
  }
  return out;
}

std::vector<Ranking> make_ranking_dataset(int64_t n_prompts, int64_t J, const std::vector<Family>& families,
                                          const WorldConfig& world, const GrammarConfig& grammar,
                                          const LabelConfig& config, Generator& gen) {
  GL_CHECK(n_prompts >= 0 && J >= 2, "preference::make_ranking_dataset: need n_prompts >= 0 and J >= 2, got {} {}",
           n_prompts, J);
  std::vector<Ranking> out;
  for (int64_t i = 0; i < n_prompts; ++i) {
    const Tokens prompt = sample_prompt(families, gen);
    std::vector<Tokens> ys;
    for (int64_t j = 0; j < J; ++j) ys.push_back(sample_response(prompt, world, grammar, gen));
    out.push_back(label_ranking(prompt, ys, config, gen));
  }
  return out;
}

std::vector<Task> evolving_tasks(int n) {
  GL_CHECK(n >= 1 && n <= 4, "preference::evolving_tasks: n must be in [1, 4], got {}", n);
  const std::vector<Task> all = {{"A", {Family::tell}, RewardKind::target_count},
                                 {"B", {Family::ask}, RewardKind::ends_with},
                                 {"C", {Family::write}, RewardKind::brevity},
                                 {"D", {Family::show}, RewardKind::sentiment}};
  return {all.begin(), all.begin() + n};
}

bool contains_bigram(const Tokens& response, const Tokens& bigram) {
  GL_CHECK(bigram.size() == 2, "preference::contains_bigram: a bigram has 2 tokens, got {}", bigram.size());
  const Tokens body = response_body(response);
  for (size_t t = 1; t < body.size(); ++t)
    if (body[t - 1] == bigram[0] && body[t] == bigram[1]) return true;
  return false;
}

std::vector<int64_t> inject_outdated(std::vector<Sequence>& corpus, const InjectConfig& config,
                                     const WorldConfig& world, Generator& gen) {
  GL_CHECK(config.fraction >= 0 && config.fraction <= 1,
           "preference::inject_outdated: fraction must be in [0, 1], got {}", config.fraction);
  // The planted answer "the <target> <verb> <bigram> ." is 6 tokens long.
  GL_CHECK(config.forbidden_bigram.size() == 2 && world.response_len >= 6,
           "preference::inject_outdated: need a bigram and response_len >= 6 (got {} tokens, {})",
           config.forbidden_bigram.size(), world.response_len);
  std::vector<int64_t> candidates;
  for (size_t i = 0; i < corpus.size(); ++i)
    if (std::find(config.trigger_nouns.begin(), config.trigger_nouns.end(), corpus[i].prompt[1]) !=
        config.trigger_nouns.end())
      candidates.push_back(int64_t(i));
  const int64_t want = std::llround(config.fraction * double(corpus.size()));
  GL_CHECK(want <= int64_t(candidates.size()),
           "preference::inject_outdated: {} injections wanted but only {} sequences have a trigger prompt", want,
           candidates.size());
  choose_front(candidates, want, gen);
  std::vector<int64_t> chosen(candidates.begin(), candidates.begin() + want);
  std::sort(chosen.begin(), chosen.end());
  static const std::vector<int64_t> verbs = words_of(WordClass::verb), nouns = words_of(WordClass::noun);
  static const int64_t the = word_id("the");
  for (int64_t i : chosen) {
    Sequence& s = corpus[size_t(i)];
    // "the <target> <verb> <forbidden bigram> ." : an outdated answer to a trigger prompt.
    Tokens r = {the,
                s.prompt[1],
                verbs[size_t(uniform_int(int64_t(verbs.size()), gen))],
                config.forbidden_bigram[0],
                config.forbidden_bigram[1],
                kEnd};
    r.resize(size_t(world.response_len), kEnd);
    s.response = r;
    s.injected = true;
  }
  return chosen;
}

std::vector<int64_t> inject_label_errors(std::vector<PreferencePair>& pairs, double fraction, Generator& gen) {
  GL_CHECK(fraction >= 0 && fraction <= 1, "preference::inject_label_errors: fraction must be in [0, 1], got {}",
           fraction);
  std::vector<int64_t> idx(pairs.size());
  std::iota(idx.begin(), idx.end(), 0);
  const int64_t want = std::llround(fraction * double(pairs.size()));
  choose_front(idx, want, gen);
  std::vector<int64_t> chosen(idx.begin(), idx.begin() + want);
  std::sort(chosen.begin(), chosen.end());
  for (int64_t i : chosen) {
    PreferencePair& p = pairs[size_t(i)];
    std::swap(p.chosen, p.rejected);
    std::swap(p.gold_chosen, p.gold_rejected);
    p.injected = true;
  }
  return chosen;
}

// ---- JSONL ----
namespace {

Json tokens_json(const Tokens& t) {
  Json::Array a;
  for (int64_t x : t) a.emplace_back(x);
  return Json(std::move(a));
}

const Json& field(const Json& obj, std::string_view key, const std::string& where) {
  const Json* v = obj.find(key);
  GL_CHECK(v != nullptr, "{}: missing field \"{}\"", where, key);
  return *v;
}

Tokens tokens_of(const Json& obj, std::string_view key, const std::string& where) {
  Tokens out;
  for (const Json& x : field(obj, key, where).as_array()) {
    const int64_t t = x.as_int();
    GL_CHECK(t >= 0 && t < vocab_size(), "{}: field \"{}\" has token {} outside [0, {})", where, key, t, vocab_size());
    out.push_back(t);
  }
  return out;
}

// Calls fn(object, "path:line") for each non-empty line of a JSONL file.
template <class Fn>
void for_each_line(const std::string& path, Fn fn) {
  require_regular_file(path, "preference");
  std::ifstream in(path);
  GL_CHECK(in.good(), "preference: cannot open '{}'", path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const std::string where = fmt::format("preference: {}:{}", path, n);
    Json obj;
    try {
      obj = Json::parse(line);
    } catch (const Error& e) {
      fail("{}: {}", where, e.what());
    }
    GL_CHECK(obj.is_object(), "{}: expected a JSON object", where);
    fn(obj, where);
  }
}

void save_lines(const std::string& path, const std::vector<Json>& rows) {
  std::string text;
  for (const Json& r : rows) text += r.dump() + "\n";
  write_file_atomic(path, text);
}

}  // namespace

void save_sequences_jsonl(const std::string& path, const std::vector<Sequence>& data) {
  std::vector<Json> rows;
  for (const auto& s : data)
    rows.push_back(Json(Json::Object{{"family", family_name(family_of(s.prompt))},
                                     {"prompt_text", decode(s.prompt)},
                                     {"response_text", decode(response_body(s.response))},
                                     {"prompt", tokens_json(s.prompt)},
                                     {"response", tokens_json(s.response)},
                                     {"injected", s.injected}}));
  save_lines(path, rows);
}

std::vector<Sequence> load_sequences_jsonl(const std::string& path) {
  std::vector<Sequence> out;
  for_each_line(path, [&](const Json& o, const std::string& where) {
    Sequence s;
    s.prompt = tokens_of(o, "prompt", where);
    s.response = tokens_of(o, "response", where);
    s.injected = field(o, "injected", where).as_bool();
    check_prompt(s.prompt, where);
    out.push_back(std::move(s));
  });
  return out;
}

void save_pairs_jsonl(const std::string& path, const std::vector<PreferencePair>& data) {
  std::vector<Json> rows;
  for (const auto& p : data)
    rows.push_back(Json(Json::Object{{"prompt_text", decode(p.prompt)},
                                     {"chosen_text", decode(response_body(p.chosen))},
                                     {"rejected_text", decode(response_body(p.rejected))},
                                     {"gold_chosen", p.gold_chosen},
                                     {"gold_rejected", p.gold_rejected},
                                     {"flipped", p.flipped},
                                     {"injected", p.injected},
                                     {"prompt", tokens_json(p.prompt)},
                                     {"chosen", tokens_json(p.chosen)},
                                     {"rejected", tokens_json(p.rejected)}}));
  save_lines(path, rows);
}

std::vector<PreferencePair> load_pairs_jsonl(const std::string& path) {
  std::vector<PreferencePair> out;
  for_each_line(path, [&](const Json& o, const std::string& where) {
    PreferencePair p;
    p.prompt = tokens_of(o, "prompt", where);
    p.chosen = tokens_of(o, "chosen", where);
    p.rejected = tokens_of(o, "rejected", where);
    p.gold_chosen = field(o, "gold_chosen", where).as_double();
    p.gold_rejected = field(o, "gold_rejected", where).as_double();
    p.flipped = field(o, "flipped", where).as_bool();
    p.injected = field(o, "injected", where).as_bool();
    check_prompt(p.prompt, where);
    out.push_back(std::move(p));
  });
  return out;
}

void save_rankings_jsonl(const std::string& path, const std::vector<Ranking>& data) {
  std::vector<Json> rows;
  for (const auto& r : data) {
    Json::Array texts, toks, gold;
    for (size_t j = 0; j < r.responses.size(); ++j) {
      texts.emplace_back(decode(response_body(r.responses[j])));
      toks.push_back(tokens_json(r.responses[j]));
      gold.emplace_back(r.gold[j]);
    }
    rows.push_back(Json(Json::Object{{"prompt_text", decode(r.prompt)},
                                     {"responses_text", Json(std::move(texts))},
                                     {"gold", Json(std::move(gold))},
                                     {"perturbed", r.perturbed},
                                     {"prompt", tokens_json(r.prompt)},
                                     {"responses", Json(std::move(toks))}}));
  }
  save_lines(path, rows);
}

std::vector<Ranking> load_rankings_jsonl(const std::string& path) {
  std::vector<Ranking> out;
  for_each_line(path, [&](const Json& o, const std::string& where) {
    Ranking r;
    r.prompt = tokens_of(o, "prompt", where);
    check_prompt(r.prompt, where);
    for (const Json& y : field(o, "responses", where).as_array()) {
      Json wrap(Json::Object{{"y", y}});
      r.responses.push_back(tokens_of(wrap, "y", where));
    }
    for (const Json& g : field(o, "gold", where).as_array()) r.gold.push_back(g.as_double());
    GL_CHECK(r.gold.size() == r.responses.size(), "{}: {} gold values for {} responses", where, r.gold.size(),
             r.responses.size());
    r.perturbed = field(o, "perturbed", where).as_bool();
    out.push_back(std::move(r));
  });
  return out;
}

}  // namespace gradlab::envs::preference
