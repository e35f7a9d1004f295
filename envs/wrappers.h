// Env wrappers in the manner of Gymnasium's: each one is an Env that holds
// another and changes one thing. TimeLimit truncates long episodes;
// EpisodeStatistics records each finished episode's return and length (put
// it inside the normalising wrappers so it sees the raw rewards);
// NormalizeObservation and NormalizeReward scale by running statistics
// (RunningMeanStd, the parallel-variance merge Gymnasium uses).
//
//   EnvPtr env = make_env("Pendulum-v1");
//   env = std::make_unique<EpisodeStatistics>(std::move(env));
//   env = std::make_unique<NormalizeObservation>(std::move(env));
//   env = std::make_unique<NormalizeReward>(std::move(env), /*gamma=*/0.99);
//   if (auto* stats = find_wrapper<EpisodeStatistics>(*env)) ... stats->finished() ...
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "envs/env.h"
#include "tensor/tensor.h"

namespace gradlab::envs {

// Running mean and (population) variance of vectors of `dim` values, merged
// batch by batch (Chan et al.'s parallel merge) as in Gymnasium: it starts at
// mean 0, var 1 with a tiny pseudo-count (1e-4), so the first update dominates
// but never divides by zero. The env wrappers below and the curiosity rewards'
// normalisers (algorithms/rl/curiosity/normalization.h) keep their statistics so.
struct RunningMeanStd {
  // How a batch's spread enters the merge: its sum of squared deviations from
  // the batch mean (Gymnasium's wrappers), or its population variance times its
  // size (RND's normaliser). The two differ only by rounding.
  enum class BatchSpread { sum_of_squares, variance_times_count };
  explicit RunningMeanStd(int64_t dim = 1, double epsilon = 1e-4, BatchSpread spread = BatchSpread::sum_of_squares);
  // One sample of dim() values.
  void update(const std::vector<double>& x);
  // A batch of `count` samples, row-major [count, dim].
  void update_batch(const double* x, int64_t count);
  // A batch tensor [N, dim] (or [N] when dim is 1), its values read as f64 and
  // checked finite; N = 0 changes nothing.
  void update_batch(const Tensor& batch);
  // (x - mean) / sqrt(var + 1e-8), clipped to [-clip, clip], for x [N, dim]: x's dtype.
  Tensor normalize(const Tensor& x, double clip) const;
  int64_t dim() const { return int64_t(mean.size()); }
  std::vector<double> mean, var;
  double count;
  BatchSpread spread;
};

// The base of every wrapper: forwards everything to the wrapped env.
class Wrapper : public Env {
 public:
  explicit Wrapper(EnvPtr env);
  std::string name() const override { return env_->name(); }
  const Space& observation_space() const override { return env_->observation_space(); }
  const Space& action_space() const override { return env_->action_space(); }
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) override { return env_->reset(seed); }
  Step step(const std::vector<double>& action) override { return env_->step(action); }
  std::string render() const override { return env_->render(); }
  Env& inner() { return *env_; }
  const Env& inner() const { return *env_; }

 protected:
  EnvPtr env_;
};

// The first wrapper of type W in the chain that starts at env (env itself
// included), or nullptr when there is none.
template <class W>
W* find_wrapper(Env& env) {
  Env* e = &env;
  while (e) {
    if (auto* w = dynamic_cast<W*>(e)) return w;
    auto* wrapper = dynamic_cast<Wrapper*>(e);
    e = wrapper ? &wrapper->inner() : nullptr;
  }
  return nullptr;
}

// Truncates an episode after max_steps steps (truncated = true on the last
// one; a terminal step keeps terminated = true as well).
class TimeLimit : public Wrapper {
 public:
  TimeLimit(EnvPtr env, int64_t max_steps);
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) override;
  Step step(const std::vector<double>& action) override;
  int64_t elapsed() const { return elapsed_; }

 private:
  int64_t max_steps_, elapsed_ = 0;
};

struct Episode {
  double episode_return = 0;  // sum of the rewards this wrapper saw
  int64_t length = 0;
};

// Records the return and length of each episode. finished() holds the episode
// that the latest step() ended, and is empty after any other step or reset.
class EpisodeStatistics : public Wrapper {
 public:
  explicit EpisodeStatistics(EnvPtr env);
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) override;
  Step step(const std::vector<double>& action) override;
  const std::optional<Episode>& finished() const { return finished_; }
  int64_t episodes() const { return episodes_; }

 private:
  Episode current_;
  std::optional<Episode> finished_;
  int64_t episodes_ = 0;
};

// obs' = clip((obs - mean) / sqrt(var + eps), -clip, clip) with the running
// statistics of every observation seen (reset ones included). While frozen
// (e.g. for evaluation with a training env's statistics) it stops updating.
class NormalizeObservation : public Wrapper {
 public:
  explicit NormalizeObservation(EnvPtr env, double epsilon = 1e-8,
                                double clip = std::numeric_limits<double>::infinity());
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) override;
  Step step(const std::vector<double>& action) override;
  std::vector<double> normalize(const std::vector<double>& obs) const;
  RunningMeanStd rms;
  bool frozen = false;

 private:
  void observe(std::vector<double>& obs);
  double epsilon_, clip_;
};

// Return-based reward scaling (Gymnasium's NormalizeReward): keeps the
// discounted return G = gamma G + r of the running episode, updates running
// statistics of G, and returns r / sqrt(var(G) + eps), clipped to +-clip. G
// restarts at each episode's end (terminated or truncated) and at reset.
class NormalizeReward : public Wrapper {
 public:
  NormalizeReward(EnvPtr env, double gamma = 0.99, double epsilon = 1e-8,
                  double clip = std::numeric_limits<double>::infinity());
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) override;
  Step step(const std::vector<double>& action) override;
  RunningMeanStd return_rms;
  bool frozen = false;

 private:
  double gamma_, epsilon_, clip_;
  double discounted_return_ = 0;
};

// Clips a box action into the action space's bounds before the env sees it
// (Gaussian policies sample outside them).
class ClipAction : public Wrapper {
 public:
  explicit ClipAction(EnvPtr env);
  Step step(const std::vector<double>& action) override;
};

}  // namespace gradlab::envs
