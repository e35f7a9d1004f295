// A hand-built timing program for bench/results/row_blocks/README.md: the
// elementwise ops whose loops have short innermost runs, because an operand is
// broadcast over the rows. x [R, C] + bias [C] for short C beside the same add
// on flat tensors, and a dynamics ensemble's hidden layer ([7, 256, W] with a
// [7, 1, W] bias) through bias_activation (forward keeping z and the sigmoid,
// and the backward). Prints the best of 7 rounds, in microseconds per call, on
// one thread. Built against a library by run.sh in this folder.
#include <chrono>
#include <cstdio>

#include "tensor/fused_layers.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace gradlab;

namespace {

template <class F>
double best_us(int reps, F f) {
  for (int i = 0; i < reps / 10 + 1; ++i) f();
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

int main() {
  set_num_threads(1);
  Generator gen(1);
  const int64_t R = 7 * 256;
  for (const int64_t C : {4, 8, 16, 64}) {
    const Tensor x = randn({R, C}, gen), b = randn({C}, gen), flat_b = randn({R, C}, gen);
    std::printf("add [%lld, %lld] + [%lld]: %7.2f us   flat add [%lld, %lld] + [%lld, %lld]: %7.2f us\n", (long long)R,
                (long long)C, (long long)C, best_us(300, [&] { Tensor y = x + b; }), (long long)R, (long long)C,
                (long long)R, (long long)C, best_us(300, [&] { Tensor y = x + flat_b; }));
  }
  for (const int64_t W : {8, 64, 200}) {
    const Tensor x = randn({7, 256, W}, gen), bias = randn({7, 1, W}, gen), dy = randn({7, 256, W}, gen);
    const BiasActivationForward kept = bias_activation_forward(UnaryOp::silu, {}, x, bias);
    std::printf("bias_activation silu [7, 256, %lld]: forward %7.2f us   backward %7.2f us\n", (long long)W,
                best_us(100, [&] { BiasActivationForward f = bias_activation_forward(UnaryOp::silu, {}, x, bias); }),
                best_us(100, [&] { Tensor dz = bias_activation_backward(UnaryOp::silu, {}, kept, dy); }));
  }
  return 0;
}
