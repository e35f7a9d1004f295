#include <chrono>
#include <cstdio>
#include "tensor/ops.h"
#include "tensor/random.h"
using namespace gradlab;
int main() {
  Generator gen(1);
  Tensor x = randn({2048, 2}, gen, DType::f32, Device::cpu);
  Tensor y = randn({2048, 64}, gen, DType::f32, Device::cpu);
  auto t = [&](const char* name, auto f) {
    for (int w = 0; w < 200; ++w) f();
    double best = 1e9;
    for (int r = 0; r < 15; ++r) {
      auto a = std::chrono::steady_clock::now();
      for (int i = 0; i < 500; ++i) f();
      best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count() / 500);
    }
    std::printf("%-28s %8.2f us\n", name, best);
  };
  t("sum [2048,2] axis -1", [&] { return sum(x, {-1}); });
  t("log_softmax [2048,2]", [&] { return log_softmax(x, -1); });
  t("sum [2048,64] axis 0", [&] { return sum(y, {0}); });
}
