// Grades gae: four hand-worked rollouts (no episode end, a termination, two
// truncations, two interleaved envs) and agreement with the library on a
// random rollout with every kind of episode end.
#include "algorithms/rl/buffers.h"
#include "exercises/gae/exercise.h"
#include "exercises/grader.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"gae", "generalised advantage estimation over T steps of N envs"};

void grade(Grader& g) {
  // All hand-worked cases: gamma = 0.9, lambda = 0.8, so gamma lambda = 0.72.
  g.check("hand-worked: 3 steps, 1 env, no episode end", [] {
    // r = (1, 0, 2), V = (0.5, 1, 1.5), V(after the rollout) = 2:
    //   delta_2 = 2 + 0.9 * 2 - 1.5 = 2.3      A_2 = 2.3
    //   delta_1 = 0 + 0.9 * 1.5 - 1 = 0.35     A_1 = 0.35 + 0.72 * 2.3 = 2.006
    //   delta_0 = 1 + 0.9 * 1 - 0.5 = 1.4      A_0 = 1.4 + 0.72 * 2.006 = 2.84432
    const std::vector<double> adv =
        compute_gae(3, 1, {1, 0, 2}, {0.5, 1, 1.5}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {2}, 0.9, 0.8);
    expect_close(adv, {2.84432, 2.006, 2.3}, "A", 1e-12, 1e-12);
  });
  g.check("hand-worked: a termination at t = 1 (no bootstrap, the sum stops there)", [] {
    // r = (1, 3, 0.5, 1), V = (1, 2, 3, 0.5), terminated at t = 1, V(after) = 4:
    //   delta_3 = 1 + 0.9 * 4 - 0.5 = 4.1          A_3 = 4.1
    //   delta_2 = 0.5 + 0.9 * 0.5 - 3 = -2.05      A_2 = -2.05 + 0.72 * 4.1 = 0.902
    //   delta_1 = 3 - 2 = 1 (no V_2: it is the next episode's)  A_1 = 1 (no A_2 either)
    //   delta_0 = 1 + 0.9 * 2 - 1 = 1.8            A_0 = 1.8 + 0.72 * 1 = 2.52
    const std::vector<double> adv =
        compute_gae(4, 1, {1, 3, 0.5, 1}, {1, 2, 3, 0.5}, {0, 1, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {4}, 0.9, 0.8);
    expect_close(adv, {2.52, 1.0, 0.902, 4.1}, "A", 1e-12, 1e-12);
  });
  g.check("hand-worked: truncations at t = 1 and t = T-1 bootstrap from V(final observation)", [] {
    // r = (1, 1, 1), V = (2, 3, 4), truncated at t = 1 (bootstrap 5) and t = 2
    // (bootstrap 7, which replaces V(after) = 1); bootstrap[0] = 99 is not read:
    //   delta_2 = 1 + 0.9 * 7 - 4 = 3.3            A_2 = 3.3
    //   delta_1 = 1 + 0.9 * 5 - 3 = 2.5            A_1 = 2.5 (the episode ended: no A_2)
    //   delta_0 = 1 + 0.9 * 3 - 2 = 1.7            A_0 = 1.7 + 0.72 * 2.5 = 3.5
    const std::vector<double> adv =
        compute_gae(3, 1, {1, 1, 1}, {2, 3, 4}, {0, 0, 0}, {0, 1, 1}, {99, 5, 7}, {1}, 0.9, 0.8);
    expect_close(adv, {3.5, 2.5, 3.3}, "A", 1e-12, 1e-12);
  });
  g.check("hand-worked: 2 steps of 2 envs, [T, N] row-major", [] {
    // Index t N + i. env 0: r = (1, 2), V = (0, 1), V(after) = 3;
    // env 1: r = (-1, 0), V = (2, 2), terminated at t = 1 (V(after) = 10 unused):
    //   env 0: A_1 = 2 + 0.9 * 3 - 1 = 3.7;  A_0 = (1 + 0.9 * 1 - 0) + 0.72 * 3.7 = 4.564
    //   env 1: A_1 = 0 - 2 = -2;             A_0 = (-1 + 0.9 * 2 - 2) + 0.72 * (-2) = -2.64
    const std::vector<double> adv =
        compute_gae(2, 2, {1, -1, 2, 0}, {0, 2, 1, 2}, {0, 0, 0, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}, {3, 10}, 0.9, 0.8);
    expect_close(adv, {4.564, -2.64, 3.7, -2.0}, "A (order t N + i)", 1e-12, 1e-12);
  });
  g.check("agrees with the library on a random rollout, T = 32, N = 3, with terminations and truncations", [] {
    const int64_t T = 32, N = 3;
    Generator gen(5);
    const std::vector<double> rewards = randn({T * N}, gen, DType::f64).to_vector<double>();
    const std::vector<double> values = randn({T * N}, gen, DType::f64).to_vector<double>();
    const std::vector<double> bootstrap = randn({T * N}, gen, DType::f64).to_vector<double>();
    const std::vector<double> last = randn({N}, gen, DType::f64).to_vector<double>();
    const std::vector<double> u = rand({2, T * N}, gen, DType::f64).to_vector<double>();
    std::vector<uint8_t> terminated(size_t(T * N)), truncated(size_t(T * N));
    for (size_t k = 0; k < size_t(T * N); ++k) {
      terminated[k] = u[k] < 0.1;
      truncated[k] = u[k + T * N] < 0.1;
    }
    // Episodes end at the last step, and one step is both terminated and
    // truncated (termination wins: no bootstrap).
    terminated[size_t((T - 1) * N)] = 1;
    truncated[size_t((T - 1) * N + 1)] = 1;
    terminated[size_t(10 * N + 2)] = truncated[size_t(10 * N + 2)] = 1;
    const std::vector<double> want =
        rl::compute_gae(T, N, rewards, values, terminated, truncated, bootstrap, last, 0.99, 0.95);
    expect_close(compute_gae(T, N, rewards, values, terminated, truncated, bootstrap, last, 0.99, 0.95), want, "A",
                 1e-10, 1e-10);
  });
}
