// Exercise gae (exercises/gae/statement.md). Write the body below, then grade
// it with:  make exercise NAME=gae
#include <cstdint>
#include <vector>

#include "exercises/gae/exercise.h"
#include "exercises/grader.h"

namespace gradlab::exercise {

// A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}, delta_t = r_t + gamma (1 - terminated_t) next_value_t - V_t.
std::vector<double> compute_gae(int64_t T, int64_t N, const std::vector<double>& rewards,
                                const std::vector<double>& values, const std::vector<uint8_t>& terminated,
                                const std::vector<uint8_t>& truncated, const std::vector<double>& bootstrap,
                                const std::vector<double>& last_values, double gamma, double lambda) {
  throw NotImplemented("compute_gae");
}

}  // namespace gradlab::exercise
