// Exercise gae: generalised advantage estimation over a rollout of N envs.
#pragma once

#include <cstdint>
#include <vector>

namespace gradlab::exercise {

// Arrays [T, N] row-major (step t, env i at t N + i):
//   delta_t = r_t + gamma (1 - terminated_t) next_value_t - V_t
//   A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1},  done = terminated or truncated
// next_value_t is bootstrap_t where the episode was truncated at t, else
// last_values[i] at t = T-1, else V_{t+1}. Returns A ([T, N], row-major).
std::vector<double> compute_gae(int64_t T, int64_t N, const std::vector<double>& rewards,
                                const std::vector<double>& values, const std::vector<uint8_t>& terminated,
                                const std::vector<uint8_t>& truncated, const std::vector<double>& bootstrap,
                                const std::vector<double>& last_values, double gamma, double lambda);

}  // namespace gradlab::exercise
