// ORPO's square toy (George-Chia/ORPO toy_exp), docs/papers/environments.md.
#include <cmath>

#include "envs/offline_toys.h"

namespace gradlab::envs {

SquareToy::SquareToy()
    : BasicEnv("SquareToy", Space::box({-bound, -bound}, {bound, bound}), Space::box({-1.0, -1.0}, {1.0, 1.0}),
               episode_length) {}

std::array<double, 2> SquareToy::sample_band_state(EnvRandom& rng) {
  while (true) {  // uniform in the square, kept when inside the band
    const double x = rng.uniform(-bound, bound), y = rng.uniform(-bound, bound);
    if (-x - band < y && y < -x + band) return {x, y};
  }
}

double SquareToy::reward_at(double x, double y) { return (x + y) / std::sqrt(2.0); }  // signed distance to y = -x

void SquareToy::set_state(double x, double y) {
  check_state_observation({x, y});
  x_ = x;
  y_ = y;
  begin_episode_at_state();
}

std::vector<double> SquareToy::do_reset() {
  const auto s = sample_band_state(rng_);
  x_ = s[0];
  y_ = s[1];
  return {x_, y_};
}

Step SquareToy::do_step(const std::vector<double>& action) {
  x_ = clip(x_ + action[0], -bound, bound);  // s' = clip(s + a, -3, 3)
  y_ = clip(y_ + action[1], -bound, bound);
  Step s;
  s.obs = {x_, y_};
  s.reward = reward_at(x_, y_);
  return s;
}

}  // namespace gradlab::envs
