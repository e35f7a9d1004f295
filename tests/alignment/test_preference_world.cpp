// The preference world: vocabulary round trips, prompts, the corpus grammar,
// gold rewards on hand-worked strings, label noise against its configured
// rate, rankings, evolving tasks, injected examples and JSONL round trips.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "envs/preference/datasets.h"
#include "tensor/atomic_file.h"
#include "tensor/error.h"
#include "tests/preference_tokens.h"

using namespace gradlab;
using namespace gradlab::envs::preference;
using gradlab::test::pad;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gradlab_align_" + name)).string();
}
}  // namespace

TEST_CASE("vocabulary: readable words, classes, encode/decode round trip") {
  CHECK(vocab_size() == 47);
  CHECK(word(kEnd) == ".");
  CHECK(words_of(WordClass::noun).size() == 16);
  CHECK(word_class(word_id("happy")) == WordClass::positive);
  const Tokens t = encode("the happy cat sees a moon .");
  CHECK(decode(t) == "the happy cat sees a moon .");
  CHECK(response_body(pad("the cat sees a moon .")) == encode("the cat sees a moon"));
  CHECK(is_terminated(pad("a cat .")));
  CHECK_FALSE(is_terminated(encode("a cat sees a cat and a cat")));
  CHECK_THROWS_WITH_AS(encode("the unicorn"), doctest::Contains("word_id: unknown word 'unicorn'"), Error);
  CHECK_THROWS_WITH_AS(word(47), doctest::Contains("preference::word: token 47 is outside [0, 47)"), Error);
}

TEST_CASE("prompts and the corpus grammar") {
  Generator gen(3);
  for (int f = 0; f < kFamilies; ++f) {
    const Tokens p = sample_prompt(Family(f), gen);
    check_prompt(p, "test");
    CHECK(family_of(p) == Family(f));
    CHECK(p[1] != p[3]);
  }
  const WorldConfig world;
  const auto corpus = make_corpus(400, {Family::tell, Family::ask}, world, {}, gen);
  int64_t with_target = 0, terminated = 0;
  for (const auto& s : corpus) {
    check_response(s.response, world, "test");
    const Family f = family_of(s.prompt);
    CHECK((f == Family::tell || f == Family::ask));
    const Tokens body = response_body(s.response);
    with_target += std::count(body.begin(), body.end(), s.prompt[1]) > 0;
    terminated += is_terminated(s.response);
  }
  // The grammar mentions the target noun in a fair share of responses, not all.
  CHECK(with_target > 40);
  CHECK(with_target < 300);
  CHECK(terminated > 200);
  CHECK_THROWS_WITH_AS(check_response(encode("a cat . sees"), {.response_len = 4}, "t"),
                       doctest::Contains("t: response 'a cat . sees' has words after its end"), Error);
}

TEST_CASE("gold rewards on hand-worked strings") {
  const Tokens x = encode("tell cat happy moon");
  // target_count: c=1 -> 1
  CHECK(gold_reward(RewardKind::target_count, x, pad("the cat sees a moon .")) == 1.0);
  // c=2 -> 2 (cap)
  CHECK(gold_reward(RewardKind::target_count, x, pad("the cat sees a cat .")) == 2.0);
  // c=4 (no adjacent repeats) -> 2 - 1*(4-2) = 0
  CHECK(gold_reward(RewardKind::target_count, x, encode("cat a cat a cat a cat .")) == 0.0);
  // c=3 with 2 adjacent repeats -> 2 - 1 - 0.5*2 = 0
  CHECK(gold_reward(RewardKind::target_count, x, pad("cat cat cat sees .")) == 0.0);
  // words after the end are not read
  CHECK(gold_reward(RewardKind::target_count, x, encode("a dog . cat cat")) == 0.0);
  // ends_with: body ends with "moon" and terminated -> 1.5; not terminated -> 1
  CHECK(gold_reward(RewardKind::ends_with, x, pad("the cat sees a moon .")) == 1.5);
  CHECK(gold_reward(RewardKind::ends_with, x, encode("a cat sees the dog with a moon")) == 1.0);
  CHECK(gold_reward(RewardKind::ends_with, x, pad("a moon sees a cat .")) == 0.5);
  // brevity: 1 - len/8
  CHECK(gold_reward(RewardKind::brevity, x, pad("a cat .")) == doctest::Approx(0.75));
  CHECK(gold_reward(RewardKind::brevity, x, pad(".")) == -1.0);
  // sentiment: happy (+1), not sad (+1), very cruel (-2) -> 0; kind warm -> 2
  CHECK(gold_reward(RewardKind::sentiment, x, pad("a happy cat likes not sad very cruel")) == 0.0);
  CHECK(gold_reward(RewardKind::sentiment, x, pad("a kind warm cat .")) == 2.0);
  CHECK(gold_reward(RewardKind::sentiment, x, encode("very happy very good very kind cat")) == 3.0);
  CHECK(reward_from_name("brevity") == RewardKind::brevity);
  CHECK_THROWS_WITH_AS(reward_from_name("length"), doctest::Contains("preference: unknown gold reward 'length'"),
                       Error);
  CHECK_THROWS_WITH_AS(gold_reward(RewardKind::brevity, encode("cat cat"), pad("a")),
                       doctest::Contains("preference::gold_reward: a prompt has 4 tokens, got 2"), Error);
}

TEST_CASE("measured label-noise rate matches the configured rate") {
  for (double noise : {0.0, 0.1, 0.25}) {
    Generator gen(11);
    const LabelConfig cfg{.reward = RewardKind::target_count, .noise = noise};
    const auto pairs = make_pair_dataset(4000, {}, {}, {}, cfg, gen);
    REQUIRE(pairs.size() > 2500);
    const double measured = measured_error_rate(pairs);
    // Binomial standard error; 4 sigma keeps the fixed-seed check far from flaky.
    const double se = std::sqrt(std::max(noise * (1 - noise), 1e-4) / double(pairs.size()));
    CHECK(std::abs(measured - noise) < 4 * se);
    int64_t flipped = 0;
    for (const auto& p : pairs) {
      CHECK(p.gold_chosen != p.gold_rejected);  // ties dropped
      CHECK((p.gold_chosen < p.gold_rejected) == p.flipped);
      flipped += p.flipped;
    }
    CHECK(double(flipped) / double(pairs.size()) == doctest::Approx(measured));
  }
}

TEST_CASE("Bradley-Terry labels follow sigmoid(beta * margin)") {
  Generator gen(5);
  const Tokens x = encode("tell cat happy moon");
  const Tokens y1 = pad("the cat sees a moon ."), y2 = pad("a dog sees a moon .");  // r* = 1 and 0
  const LabelConfig cfg{.reward = RewardKind::target_count, .bt_beta = 1.0};
  int64_t first = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    PreferencePair p;
    REQUIRE(label_pair(x, y1, y2, cfg, gen, p));
    first += p.chosen == y1;
  }
  const double want = 1.0 / (1.0 + std::exp(-1.0));
  CHECK(std::abs(double(first) / n - want) < 4 * std::sqrt(want * (1 - want) / n));
}

TEST_CASE("rankings, evolving tasks and injected examples") {
  Generator gen(7);
  const Tokens x = encode("tell cat happy moon");
  const std::vector<Tokens> ys = {pad("a dog ."), pad("the cat sees a cat ."), pad("a cat .")};
  const Ranking r = label_ranking(x, ys, {.reward = RewardKind::target_count}, gen);
  CHECK(r.responses[0] == ys[1]);
  CHECK(r.gold == std::vector<double>{2, 1, 0});
  // Plackett-Luce with a very sharp temperature is the gold order, for every position (the weights of
  // the items still to draw are taken relative to their own best, so none underflows to 0).
  for (int trial = 0; trial < 5; ++trial) {
    const Ranking sharp = label_ranking(x, ys, {.reward = RewardKind::target_count, .bt_beta = 1e4}, gen);
    CHECK(sharp.gold == std::vector<double>{2, 1, 0});
  }
  const auto rankings = make_ranking_dataset(50, 4, {Family::ask}, {}, {}, {.reward = RewardKind::ends_with}, gen);
  for (const auto& rk : rankings)
    for (size_t j = 1; j < rk.gold.size(); ++j) CHECK(rk.gold[j - 1] >= rk.gold[j]);

  const auto tasks = evolving_tasks(3);
  REQUIRE(tasks.size() == 3);
  CHECK(tasks[0].reward != tasks[1].reward);
  CHECK(tasks[1].families[0] != tasks[2].families[0]);

  const WorldConfig world;
  auto corpus = make_corpus(500, {}, world, {}, gen);
  const InjectConfig inj;
  const auto injected = inject_outdated(corpus, inj, world, gen);
  CHECK(injected.size() == 50);
  int64_t with_bigram = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const bool planted = std::binary_search(injected.begin(), injected.end(), int64_t(i));
    CHECK(corpus[i].injected == planted);
    if (planted) CHECK(contains_bigram(corpus[i].response, inj.forbidden_bigram));
    with_bigram += contains_bigram(corpus[i].response, inj.forbidden_bigram);
  }
  CHECK(with_bigram >= 50);

  auto pairs = make_pair_dataset(200, {}, world, {}, {}, gen);
  const auto errors = inject_label_errors(pairs, 0.2, gen);
  CHECK(errors.size() == size_t(std::llround(0.2 * double(pairs.size()))));
  for (int64_t i : errors) CHECK(pairs[size_t(i)].gold_chosen < pairs[size_t(i)].gold_rejected);
}

TEST_CASE("datasets round trip through JSONL") {
  Generator gen(9);
  auto corpus = make_corpus(30, {}, {}, {}, gen);
  corpus[3].injected = true;
  const std::string sp = temp_path("seq.jsonl"), pp = temp_path("pairs.jsonl"), rp = temp_path("rank.jsonl");
  save_sequences_jsonl(sp, corpus);
  const auto back = load_sequences_jsonl(sp);
  REQUIRE(back.size() == corpus.size());
  for (size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].prompt == corpus[i].prompt);
    CHECK(back[i].response == corpus[i].response);
    CHECK(back[i].injected == corpus[i].injected);
  }
  const auto pairs = make_pair_dataset(30, {}, {}, {}, {.noise = 0.3}, gen);
  save_pairs_jsonl(pp, pairs);
  const auto pb = load_pairs_jsonl(pp);
  REQUIRE(pb.size() == pairs.size());
  for (size_t i = 0; i < pb.size(); ++i) {
    CHECK(pb[i].chosen == pairs[i].chosen);
    CHECK(pb[i].rejected == pairs[i].rejected);
    CHECK(pb[i].gold_chosen == pairs[i].gold_chosen);
    CHECK(pb[i].flipped == pairs[i].flipped);
  }
  const auto ranks = make_ranking_dataset(10, 3, {}, {}, {}, {.bt_beta = 2.0}, gen);
  save_rankings_jsonl(rp, ranks);
  const auto rb = load_rankings_jsonl(rp);
  REQUIRE(rb.size() == ranks.size());
  for (size_t i = 0; i < rb.size(); ++i) {
    CHECK(rb[i].responses == ranks[i].responses);
    CHECK(rb[i].gold == ranks[i].gold);
  }
  // The text fields are readable.
  std::ifstream in(sp);
  std::string line;
  std::getline(in, line);
  CHECK(line.find("\"prompt_text\":\"" + decode(corpus[0].prompt) + "\"") != std::string::npos);
  // A broken file names its line.
  write_file_atomic(pp, "{\"prompt\": [1, 5, 29, 6]}\n");
  CHECK_THROWS_WITH_AS(load_pairs_jsonl(pp), doctest::Contains(":1: missing field"), Error);
  std::remove(sp.c_str());
  std::remove(pp.c_str());
  std::remove(rp.c_str());
}
