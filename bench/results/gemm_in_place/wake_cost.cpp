// What a parallel region costs: tanh (transcendental) and add (cheap) over n
// f32 elements on one thread and on two, median of 9 samples of 200 calls,
// for n from 16,384 to 262,144. Run it as is (OpenMP's default wait policy)
// and under OMP_WAIT_POLICY=PASSIVE, against each library; linked against
// build/libgradlab.a with --whole-archive as in README.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace gradlab;

int main() {
  Generator gen(1);
  for (int64_t n : {16384L, 32768L, 65536L, 131072L, 262144L}) {
    const Tensor x = randn({n}, gen);
    for (const std::string op : {"tanh", "add"}) {
      auto call = [&] { return op == "tanh" ? tanh(x) : add(x, x); };
      double us[3] = {0, 0, 0};
      for (int threads : {1, 2}) {
        set_num_threads(threads);
        for (int i = 0; i < 50; ++i) call();
        std::vector<double> samples;
        for (int s = 0; s < 9; ++s) {
          const auto t0 = std::chrono::steady_clock::now();
          for (int i = 0; i < 200; ++i) call();
          samples.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 200 * 1e6);
        }
        std::sort(samples.begin(), samples.end());
        us[threads] = samples[samples.size() / 2];
      }
      std::printf("n %7lld %-5s 1 thread %7.2f us  2 threads %7.2f us  (%.2fx)\n", (long long)n, op.c_str(), us[1], us[2],
                  us[1] / us[2]);
    }
  }
  return 0;
}
