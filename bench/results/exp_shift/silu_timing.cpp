// Microseconds per call of the fused bias + SiLU forward (keeping z and the
// sigmoid, and for inference), a bias add, a copy and sigmoid, on the
// dynamics ensemble's hidden shape [7, rows, 200] (rows = 256 unless given).
// Built against build/libgradlab.a as README.md here says; run with one thread.
#include "tensor/fused_layers.h"
#include "tensor/ops.h"
#include "tensor/creation.h"
#include "tensor/random.h"
#include <chrono>
#include <cstdio>
using namespace gradlab;
int main(int argc, char** argv) {
  int64_t rows = argc > 1 ? atoll(argv[1]) : 256;
  Tensor x = randn({7, rows, 200}), b = randn({7, 1, 200});
  auto t = [&](auto f, const char* name) {
    for (int i = 0; i < 20; ++i) f();
    auto t0 = std::chrono::steady_clock::now();
    int n = 200;
    for (int i = 0; i < n; ++i) f();
    double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
    printf("%-28s %8.1f us  %.2f ns/elt\n", name, us, us * 1000 / x.numel());
  };
  t([&] { auto r = bias_activation_forward(UnaryOp::silu, {}, x, b, true); }, "silu fwd keep z,s");
  t([&] { auto r = bias_activation_forward(UnaryOp::silu, {}, x, b, false); }, "silu fwd inference");
  t([&] { auto r = add(x, b); }, "add bias");
  t([&] { auto r = x.clone(); }, "clone");
  t([&] { auto r = sigmoid(x); }, "sigmoid");
}
