// VectorEnv: N copies of an environment stepped together, with batched
// observations for the agent's networks. An env whose episode ends is reset
// at once (auto-reset, in the same step): the returned observation row is the
// new episode's first one, and the finished episode's last observation comes
// back separately in final_obs, so that an agent can bootstrap through a
// truncation from V(final_obs). The reward and the done flags are those of
// the finishing step. Env i is seeded seed + i on the first reset and then
// continues its own generator.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "envs/env.h"
#include "envs/wrappers.h"
#include "tensor/tensor.h"

namespace gradlab::envs {

struct VectorStep {
  Tensor obs;                                    // [N, obs_dim] f32: next observations (reset ones where done)
  std::vector<double> rewards;                   // [N]
  std::vector<uint8_t> terminated, truncated;    // [N]
  std::vector<std::vector<double>> final_obs;    // [N]: the last observation where done, empty elsewhere
  std::vector<std::optional<Episode>> episodes;  // [N]: set where done and the env has EpisodeStatistics
  bool done(int64_t i) const { return terminated[size_t(i)] || truncated[size_t(i)]; }
};

class VectorEnv {
 public:
  // The envs must share their observation and action spaces.
  explicit VectorEnv(std::vector<EnvPtr> envs);
  // n envs from a factory (e.g. one that adds wrappers around make_env).
  VectorEnv(const std::function<EnvPtr()>& make, int64_t n);

  // Resets every env (env i with seed + i): [N, obs_dim] f32.
  Tensor reset(uint64_t seed);
  // actions: discrete spaces [N] (or [N, 1]) of integers (i32/i64, or whole
  // floats); box spaces [N, A] f32/f64. Any other shape throws.
  VectorStep step(const Tensor& actions);
  // The same from N action vectors.
  VectorStep step(const std::vector<std::vector<double>>& actions);

  int64_t num_envs() const { return int64_t(envs_.size()); }
  int64_t obs_dim() const { return obs_dim_; }
  const Space& observation_space() const { return envs_.front()->observation_space(); }
  const Space& action_space() const { return envs_.front()->action_space(); }
  Env& env(int64_t i) { return *envs_.at(size_t(i)); }

 private:
  std::vector<EnvPtr> envs_;
  std::vector<EpisodeStatistics*> stats_;  // per env, null when absent
  int64_t obs_dim_ = 0;
  bool started_ = false;
};

}  // namespace gradlab::envs
