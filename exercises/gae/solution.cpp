// The library's answer to gae: the GAE pass RolloutStorage runs for PPO
// (algorithms/rl/buffers.cpp).
#include "algorithms/rl/buffers.h"
#include "exercises/gae/exercise.h"

namespace gradlab::exercise {

std::vector<double> compute_gae(int64_t T, int64_t N, const std::vector<double>& rewards,
                                const std::vector<double>& values, const std::vector<uint8_t>& terminated,
                                const std::vector<uint8_t>& truncated, const std::vector<double>& bootstrap,
                                const std::vector<double>& last_values, double gamma, double lambda) {
  return rl::compute_gae(T, N, rewards, values, terminated, truncated, bootstrap, last_values, gamma, lambda);
}

}  // namespace gradlab::exercise
