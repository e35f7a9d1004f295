// The A/B harness behind kColumnMajorInPlacePanels (tensor/cpu/gemm.cpp): one
// product C = A B with a column-major A (the layout of a weight gradient
// X^T dY) timed under each limit on the panels of B that read A in place
// (0: always packed, as before; 100: always in place), the limits taking
// turns sample by sample in one process, so that the machine's slow and fast
// spells fall on all of them alike. Every product's bits are checked against
// the first. Needs the library built with threshold_toggle.patch applied
// (see README.md); prints the median GFLOP/s of 15 samples per limit.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace gradlab::cpu {
extern int64_t g_inplace_panels;
}
using namespace gradlab;

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 1);
  const int64_t shapes[][3] = {{64, 256, 64},    {64, 256, 256},  {256, 256, 256},
                               {256, 256, 64},   {128, 2048, 384}, {768, 256, 3072},
                               {200, 256, 200},  {64, 2048, 64},   {512, 512, 512}};
  const std::vector<int64_t> limits = {0, 1, 4, 16, 100};
  Generator gen(1);
  for (const auto& shape : shapes) {
    const int64_t M = shape[0], K = shape[1], N = shape[2];
    const Tensor a = randn({K, M}, gen).transpose(0, 1), b = randn({K, N}, gen);  // a: M x K, column-major
    const double flops = 2.0 * double(M * N * K);
    const int reps = int(std::max<int64_t>(1, int64_t(3e8 / flops)));
    std::vector<std::vector<double>> seconds(limits.size());
    std::vector<float> first;
    for (int sample = 0; sample < 15; ++sample)
      for (size_t l = 0; l < limits.size(); ++l) {
        cpu::g_inplace_panels = limits[l];
        Tensor c;
        const auto t0 = std::chrono::steady_clock::now();
        for (int r = 0; r < reps; ++r) c = matmul(a, b);
        seconds[l].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
        const std::vector<float> bits = c.to_vector<float>();
        if (first.empty()) first = bits;
        if (bits != first) {
          std::printf("%lldx%lldx%lld: limit %lld changed the bits\n", (long long)M, (long long)K, (long long)N,
                      (long long)limits[l]);
          return 1;
        }
      }
    std::printf("%4lld x %4lld x %4lld (M x K x N)", (long long)M, (long long)K, (long long)N);
    for (size_t l = 0; l < limits.size(); ++l) {
      std::sort(seconds[l].begin(), seconds[l].end());
      std::printf("  limit %3lld: %6.1f", (long long)limits[l], flops / seconds[l][seconds[l].size() / 2] * 1e-9);
    }
    std::printf("\n");
  }
  return 0;
}
