// A tiny deterministic environment for the rl tests: the observation is
// (offset + t, t), the reward is 1 + the action (discrete, 2 actions), the
// episode terminates at step terminal_at (0: never) and is truncated at
// horizon. reset(seed) sets offset = 100 seed; a reset without a seed moves
// the offset on by 1000, so each episode's observations are recognisable.
#pragma once

#include "envs/env.h"
#include "tensor/error.h"

namespace gradlab::rl_test {

class TinyEnv : public envs::Env {
 public:
  TinyEnv(int64_t horizon, int64_t terminal_at)
      : horizon_(horizon),
        terminal_at_(terminal_at),
        obs_space_(envs::Space::box({-1e9, -1e9}, {1e9, 1e9})),
        action_space_(envs::Space::discrete_space(2)) {}
  std::string name() const override { return "TinyEnv"; }
  const envs::Space& observation_space() const override { return obs_space_; }
  const envs::Space& action_space() const override { return action_space_; }
  std::vector<double> reset(std::optional<uint64_t> seed = std::nullopt) override {
    offset_ = seed ? 100.0 * double(*seed) : offset_ + 1000.0;
    t_ = 0;
    done_ = false;
    return {offset_, 0.0};
  }
  envs::Step step(const std::vector<double>& action) override {
    GL_CHECK(!done_, "TinyEnv: step after the episode ended");
    GL_CHECK(action.size() == 1 && (action[0] == 0 || action[0] == 1), "TinyEnv: bad action");
    ++t_;
    envs::Step s;
    s.obs = {offset_ + double(t_), double(t_)};
    s.reward = 1.0 + action[0];
    s.terminated = terminal_at_ > 0 && t_ == terminal_at_;
    s.truncated = !s.terminated && t_ >= horizon_;
    done_ = s.done();
    return s;
  }

 private:
  int64_t horizon_, terminal_at_;
  envs::Space obs_space_, action_space_;
  double offset_ = 0;
  int64_t t_ = 0;
  bool done_ = false;
};

}  // namespace gradlab::rl_test
