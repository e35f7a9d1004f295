// Datasets of the preference world: preference pairs and J-way rankings
// labelled by Bradley-Terry from a gold reward with configurable label noise,
// the evolving-preference task sequence (continual alignment), injected
// outdated/erroneous examples with the ground-truth list kept (influence
// recall), and JSONL files a person can read (fields in README.md).
//
// Labelling a pair (y1, y2) of one prompt x (docs/papers/alignment-baselines.md, "The preference world"):
//   bt_beta > 0:  P(y1 > y2) = sigmoid(bt_beta (r*(x, y1) - r*(x, y2)))   (sampled)
//   bt_beta = 0:  y1 > y2 iff r*(x, y1) > r*(x, y2)                        (the gold order)
// then the label is flipped with probability `noise`. Ties in r* are dropped
// when drop_ties is set (otherwise the order is a coin flip before the noise).
#pragma once

#include <string>
#include <vector>

#include "envs/preference/gold_reward.h"

namespace gradlab::envs::preference {

struct PreferencePair {
  Tokens prompt, chosen, rejected;
  double gold_chosen = 0, gold_rejected = 0;  // r* of each response
  bool flipped = false;                       // the label noise swapped this pair
  bool injected = false;                      // an erroneous pair planted by inject_label_errors
};

struct LabelConfig {
  RewardKind reward = RewardKind::target_count;
  GoldRewardConfig gold{};
  double noise = 0.0;     // probability of flipping each label, in [0, 0.5]
  double bt_beta = 0.0;   // 0: the gold order; > 0: Bradley-Terry sampling at this inverse temperature
  bool drop_ties = true;  // skip pairs with equal gold reward
};

// Labels one pair; returns false (and leaves `out` alone) for a tie that is dropped.
bool label_pair(const Tokens& prompt, const Tokens& y1, const Tokens& y2, const LabelConfig& config, Generator& gen,
                PreferencePair& out);

// Pairs labelled from `n_prompts` prompts of the families, each with two
// responses from the corpus grammar (up to `tries` draws per prompt to get a
// non-tie); a prompt whose draws all tie is skipped.
std::vector<PreferencePair> make_pair_dataset(int64_t n_prompts, const std::vector<Family>& families,
                                              const WorldConfig& world, const GrammarConfig& grammar,
                                              const LabelConfig& config, Generator& gen, int tries = 8);

// The fraction of pairs whose chosen response has a lower gold reward than the
// rejected one (ties count as neither): the measured label-error rate.
double measured_error_rate(const std::vector<PreferencePair>& pairs);

// J responses to one prompt ranked best first, by Plackett-Luce sampling
// (bt_beta > 0: each next-best is drawn with probability proportional to
// exp(bt_beta r*)) or by sorting on r* (bt_beta = 0, ties kept in input
// order); then, with probability `noise`, one random adjacent pair is swapped.
struct Ranking {
  Tokens prompt;
  std::vector<Tokens> responses;  // best first, as labelled
  std::vector<double> gold;       // r* of each, in the same order
  bool perturbed = false;         // the noise swapped a pair
};
Ranking label_ranking(const Tokens& prompt, const std::vector<Tokens>& responses, const LabelConfig& config,
                      Generator& gen);
std::vector<Ranking> make_ranking_dataset(int64_t n_prompts, int64_t J, const std::vector<Family>& families,
                                          const WorldConfig& world, const GrammarConfig& grammar,
                                          const LabelConfig& config, Generator& gen);

// ---- evolving preferences ----
// A task of the continual-alignment sequence: the prompts of some families,
// judged by one gold reward.
struct Task {
  std::string name;
  std::vector<Family> families;
  RewardKind reward = RewardKind::target_count;
};
// A: tell/target_count, B: ask/ends_with, C: write/brevity, D: show/sentiment
// (the first n, 1 <= n <= 4): disjoint families, different r*.
std::vector<Task> evolving_tasks(int n = 3);

// ---- injected outdated / erroneous examples ----
// Replaces the responses of a `fraction` of the sequences whose prompt's
// target noun is a trigger with an "outdated" response containing the
// forbidden bigram (e.g. "cruel king"); returns the injected indices,
// ascending (the ground truth for influence recall), and marks them injected.
struct InjectConfig {
  double fraction = 0.1;  // of all sequences (drawn among those with a trigger prompt)
  std::vector<int64_t> trigger_nouns = {word_id("cat"), word_id("dog"), word_id("bird"), word_id("fish")};
  Tokens forbidden_bigram = {word_id("cruel"), word_id("king")};
};
std::vector<int64_t> inject_outdated(std::vector<Sequence>& corpus, const InjectConfig& config,
                                     const WorldConfig& world, Generator& gen);
// True when the response body contains the bigram.
bool contains_bigram(const Tokens& response, const Tokens& bigram);
// Swaps chosen and rejected on a random `fraction` of the pairs (marking them
// injected); returns their indices, ascending.
std::vector<int64_t> inject_label_errors(std::vector<PreferencePair>& pairs, double fraction, Generator& gen);

// ---- files (JSONL: one JSON object a line; written atomically) ----
void save_sequences_jsonl(const std::string& path, const std::vector<Sequence>& data);
std::vector<Sequence> load_sequences_jsonl(const std::string& path);
void save_pairs_jsonl(const std::string& path, const std::vector<PreferencePair>& data);
std::vector<PreferencePair> load_pairs_jsonl(const std::string& path);
void save_rankings_jsonl(const std::string& path, const std::vector<Ranking>& data);
std::vector<Ranking> load_rankings_jsonl(const std::string& path);

}  // namespace gradlab::envs::preference
