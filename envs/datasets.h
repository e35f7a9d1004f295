// D4RL-style offline datasets: build them from behaviour policies at the
// levels random, medium, medium-replay, expert and medium-expert; save and
// load them as safetensors with D4RL's keys; and D4RL's normalised score.
//
// File format (one .safetensors file): F32 tensors
//   observations [N, obs_dim], actions [N, act_dim], rewards [N],
//   next_observations [N, obs_dim], terminals [N], timeouts [N]
// (terminals and timeouts hold 0.0 or 1.0), and string metadata: env, level,
// policy, seed, transitions, episodes (complete episodes), return_mean and
// return_std (over complete episodes; "nan" when there are none),
// ref_random_return and ref_expert_return (the references of the normalised
// score), normalized_score (of return_mean), termination_fn, format.
// terminals[i] = 1: the step reached a terminal state of the MDP; timeouts[i]
// = 1: the episode stopped there for any other reason (time limit, or the
// transition budget ran out mid-episode). next_observations is the true next
// observation on every row, so no row needs dropping.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "envs/behaviour_policies.h"
#include "tensor/tensor.h"

namespace gradlab::envs {

struct Dataset {
  Tensor observations, actions, rewards, next_observations, terminals, timeouts;
  std::map<std::string, std::string> metadata;
  int64_t size() const { return rewards.defined() ? rewards.numel() : 0; }
  int64_t obs_dim() const { return observations.size(1); }
  int64_t act_dim() const { return actions.size(1); }
};

// The dataset levels, in D4RL's names.
const std::vector<std::string>& dataset_levels();

// Mean returns of the random and expert behaviour, the references of the
// normalised score (D4RL's ref_min_score and ref_max_score).
struct ReferenceReturns {
  double random = 0, expert = 0;
};
// Runs `episodes` episodes of each policy from reset(seed) onward.
ReferenceReturns measure_reference_returns(const std::string& env, const BehaviourSet& behaviour, int64_t episodes,
                                           uint64_t seed);

// D4RL's normalised score 100 (R - R_random) / (R_expert - R_random).
double normalized_score(double ret, double random_return, double expert_return);
double normalized_score(double ret, const ReferenceReturns& refs);

// Rolls `policy` in `env` from reset(seed), whole episodes, until exactly
// `transitions` rows are collected (the last episode may be cut: its last row
// is flagged as a timeout). Metadata: env, transitions, episodes, returns.
Dataset collect_transitions(Env& env, const Policy& policy, int64_t transitions, uint64_t seed);

// ORPO's square-toy data: states uniform in the band |x + y| < 0.25, uniform
// actions in [-1, 1]^2, s' = s + a left unclipped, reward (x' + y')/sqrt(2);
// i.i.d. rows (no episodes: terminals and timeouts all 0).
Dataset square_toy_dataset(int64_t transitions, uint64_t seed);

// A numeric metadata field ("nan" reads as NaN); throws naming the key and the
// text when it is missing or not a number (e.g. a hand-edited dataset file).
double metadata_number(const Dataset& d, const std::string& key);

// Rows of a then rows of b (same dims); metadata from a, counts recomputed.
Dataset concatenate(const Dataset& a, const Dataset& b);

// A dataset of `level` for `env` from the given behaviour policies:
//   random: behaviour.random; expert: behaviour.expert;
//   medium: mixture(expert, random, medium_p) per step;
//   medium-replay: five equal shares from mixtures with p = 0, p_m/4, ..., p_m
//     in that order (the data of a sequence of improving policies up to medium);
//   medium-expert: half medium, then half expert.
// For SquareToy the random level is square_toy_dataset (the paper's
// generator). The metadata records the references and the score.
Dataset build_dataset(const std::string& env, const BehaviourSet& behaviour, const std::string& level,
                      int64_t transitions, uint64_t seed, const ReferenceReturns& refs);
// The same with builtin_behaviour(env) and references measured over 100
// episodes with seed 0 (fixed, so scores compare across datasets and seeds).
Dataset build_dataset(const std::string& env, const std::string& level, int64_t transitions, uint64_t seed);
ReferenceReturns builtin_reference_returns(const std::string& env);

// The known termination function of an env for model rollouts: terminated
// given (obs, action, next_obs). Pendulum-v1, SquareToy and PointMass-* never
// terminate; throws naming the env for others.
using TerminationFn = std::function<bool(const std::vector<double>& obs, const std::vector<double>& action,
                                         const std::vector<double>& next_obs)>;
TerminationFn termination_function(const std::string& env);

// Writes the file described above (atomically).
void save_dataset(const std::string& path, const Dataset& dataset);
// Reads and validates it: the six keys, F32, matching N and dims, 0/1 flags,
// finite values, and the env / level metadata (dims checked against the env
// when make_env knows it). Errors name the file and the problem.
Dataset load_dataset(const std::string& path);

// A few lines: env, level, rows, dims, episodes, return mean ± std, score.
std::string describe_dataset(const Dataset& dataset);

}  // namespace gradlab::envs
