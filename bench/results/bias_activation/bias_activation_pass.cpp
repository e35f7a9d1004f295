// A hand-built timing program for bench/results/bias_activation/README.md:
// one hidden layer's bias add and SiLU of a dynamics ensemble ([K, N, width]
// activations, a [K, 1, width] bias), as two ops (add, then silu, then silu's
// backward) and as bias_activation (forward keeping z and the sigmoid, forward
// for inference, backward from the kept sigmoid). Prints the best of 7 rounds
// of `reps` calls, in microseconds per call. Built against a library by
// run.sh in this folder:
//   bias_activation_pass K N WIDTH REPS
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "tensor/fused_layers.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace gradlab;

namespace {

template <class F>
double best_us(int reps, F f) {
  double best = 1e30;
  for (int round = 0; round < 7; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count() / reps);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s K N WIDTH REPS\n", argv[0]);
    return 2;
  }
  const int64_t K = std::atoll(argv[1]), N = std::atoll(argv[2]), W = std::atoll(argv[3]);
  const int reps = std::atoi(argv[4]);
  Generator gen(1);
  const Tensor x = randn({K, N, W}, gen), bias = randn({K, 1, W}, gen), dy = randn({K, N, W}, gen);
  const Tensor z = add(x, bias), y = silu(z);
  std::printf("[%lld, %lld, %lld]", (long long)K, (long long)N, (long long)W);
  std::printf("  add+silu %.1f", best_us(reps, [&] { Tensor out = silu(add(x, bias)); }));
  std::printf("  silu_backward %.1f", best_us(reps, [&] { Tensor dz = unary_grad(UnaryOp::silu, z, y, dy); }));
#ifdef WITH_FUSED
  const BiasActivationForward kept = bias_activation_forward(UnaryOp::silu, {}, x, bias);
  std::printf("  fused_keep %.1f",
              best_us(reps, [&] { BiasActivationForward f = bias_activation_forward(UnaryOp::silu, {}, x, bias); }));
  std::printf("  fused_inference %.1f", best_us(reps, [&] {
                BiasActivationForward f = bias_activation_forward(UnaryOp::silu, {}, x, bias, false);
              }));
  std::printf("  fused_backward %.1f",
              best_us(reps, [&] { Tensor dz = bias_activation_backward(UnaryOp::silu, {}, kept, dy); }));
#endif
  std::printf("  (us per call, 1 thread)\n");
  return 0;
}
