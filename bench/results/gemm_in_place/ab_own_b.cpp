// The A/B harness behind kOwnPanelsMax (tensor/cpu/gemm.cpp): row-major
// products that two threads split by rows (many rows, 4 to 16 panels of B),
// timed with each thread packing B for itself up to 4, 8 or 16 panels (and
// sharing it across barriers beyond), the limits taking turns sample by
// sample in one process. Needs the library built with own_b_toggle.patch
// (README.md); prints the median GFLOP/s of 15 samples per limit.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace gradlab::cpu {
extern int64_t g_own_panels;
}
using namespace gradlab;

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 2);
  const int64_t shapes[][3] = {{2048, 64, 512},   {1024, 256, 512}, {4096, 128, 384},
                               {2048, 256, 1024}, {768, 256, 512},  {1024, 64, 256}};
  const std::vector<int64_t> limits = {4, 8, 16};
  Generator gen(1);
  for (const auto& shape : shapes) {
    const int64_t M = shape[0], K = shape[1], N = shape[2];
    const Tensor a = randn({M, K}, gen), b = randn({K, N}, gen);
    const double flops = 2.0 * double(M * N * K);
    const int reps = int(std::max<int64_t>(1, int64_t(6e8 / flops)));
    std::vector<std::vector<double>> seconds(limits.size());
    for (int sample = 0; sample < 15; ++sample)
      for (size_t l = 0; l < limits.size(); ++l) {
        cpu::g_own_panels = limits[l];
        Tensor c;
        const auto t0 = std::chrono::steady_clock::now();
        for (int r = 0; r < reps; ++r) c = matmul(a, b);
        seconds[l].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
      }
    std::printf("%5lld x %4lld x %4lld (M x K x N)", (long long)M, (long long)K, (long long)N);
    for (size_t l = 0; l < limits.size(); ++l) {
      std::sort(seconds[l].begin(), seconds[l].end());
      std::printf("  own B up to %2lld panels: %6.1f", (long long)limits[l],
                  flops / seconds[l][seconds[l].size() / 2] * 1e-9);
    }
    std::printf("\n");
  }
  return 0;
}
