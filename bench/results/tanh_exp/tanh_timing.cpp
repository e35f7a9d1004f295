// A hand-built timing program for bench/results/tanh_exp/README.md: tanh on
// PPO's hidden activations ([2048, 64]) and on the autograd chain's 64 x 64,
// and sigmoid (whose exp did not change) as a control. Best of 9 rounds, in
// microseconds per call, one thread. Built against a library by run.sh here.
#include <chrono>
#include <cstdio>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace gradlab;
namespace {

template <class F>
double best_us(int reps, F f) {
  for (int i = 0; i < reps / 10 + 1; ++i) f();
  double best = 1e30;
  for (int r = 0; r < 9; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) f();
    best =
        std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / reps);
  }
  return best;
}

}  // namespace

int main() {
  set_num_threads(1);
  Generator g(1);
  Tensor x = randn({2048, 64}, g), s = randn({64, 64}, g);
  std::printf("tanh [2048, 64] %.2f us  tanh [64, 64] %.2f us  sigmoid [2048, 64] %.2f us\n",
              best_us(200, [&] { Tensor y = tanh(x); }), best_us(2000, [&] { Tensor y = tanh(s); }),
              best_us(200, [&] { Tensor y = sigmoid(x); }));
}
