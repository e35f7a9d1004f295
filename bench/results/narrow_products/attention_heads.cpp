// The timing program behind the attention figures of README.md in this
// folder (not built by the Makefile): the fused attention op, forward and
// backward, on B x H heads of T positions and D dimensions, with or without a
// key mask (left padding of 0-3 positions, as the alignment experiments'
// prompts have). Prints the best of five means over `iters` calls.
//   g++ -std=c++20 -O3 -march=native -fopenmp -I. -c bench/results/narrow_products/attention_heads.cpp -o /tmp/ah.o
//   g++ -fopenmp /tmp/ah.o build/libgradlab.a -o /tmp/attention_heads -lfmt
//   OMP_NUM_THREADS=1 /tmp/attention_heads B H T D masked iters
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "autograd/ops.h"
#include "tensor/creation.h"
#include "tensor/random.h"

using namespace gradlab;

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: attention_heads B H T D masked(0|1) iters\n");
    return 2;
  }
  const int64_t B = std::atoll(argv[1]), H = std::atoll(argv[2]), T = std::atoll(argv[3]), D = std::atoll(argv[4]);
  const bool masked = std::atoi(argv[5]) != 0;
  const int iters = std::atoi(argv[6]);
  Generator gen(1);
  Var q(randn({B, H, T, D}, gen)), k(randn({B, H, T, D}, gen)), v(randn({B, H, T, D}, gen));
  q.requires_grad_(true);
  k.requires_grad_(true);
  v.requires_grad_(true);
  std::vector<double> keep(size_t(B * T));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) keep[size_t(b * T + t)] = t >= b % 4 ? 1 : 0;
  const Tensor mask = masked ? from_vector(keep, {B, T}).to(DType::b8) : Tensor();
  using clock = std::chrono::steady_clock;
  double best_forward = 1e30, best_backward = 1e30;
  for (int round = 0; round < 5; ++round) {
    double forward = 0, backward = 0;
    for (int i = 0; i < iters; ++i) {
      const auto t0 = clock::now();
      const Var y = attention(q, k, v, true, mask);
      const auto t1 = clock::now();
      sum(y).backward();
      const auto t2 = clock::now();
      forward += std::chrono::duration<double>(t1 - t0).count();
      backward += std::chrono::duration<double>(t2 - t1).count();
    }
    best_forward = std::min(best_forward, forward / iters);
    best_backward = std::min(best_backward, backward / iters);
  }
  std::printf("B%lld H%lld T%lld D%lld masked %d: forward %.1f us, backward %.1f us\n", (long long)B, (long long)H,
              (long long)T, (long long)D, int(masked), best_forward * 1e6, best_backward * 1e6);
}
