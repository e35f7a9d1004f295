// Prints a checksum of the bits each op gives over a sweep of f32 inputs: the
// library built before the AVX-512 forms and the library after must print the
// same lines. Every 7th float bit pattern (614 million inputs, NaNs and
// infinities among them), in tensors of 2^22 - 3 (each with a tail of 13
// after the whole vectors), goes through exp, sigmoid, silu, the erf GELU, the
// silu and GELU derivatives (unary_grad), and the fused bias and activation
// (silu keeping its sigmoid, GELU keeping z); finite inputs go through softmax
// over rows of 37 (a scalar tail after two whole vectors). Linked like the
// other binaries:
//   g++ -std=c++20 -O2 -march=native -fopenmp -I. bench/results/exp_avx512/check_bits.cpp -o /tmp/check_new \
//     -Wl,--whole-archive build/libgradlab.a -Wl,--no-whole-archive -lfmt \
//     -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tensor/creation.h"
#include "tensor/fused_layers.h"
#include "tensor/ops.h"

using namespace gradlab;

namespace {

// FNV-1a over the bits, every NaN counted as one pattern
void mix(uint64_t& h, const Tensor& t) {
  const std::vector<float> v = t.to_vector<float>();
  for (float f : v) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if (f != f) u = 0x7fc00000u;
    for (int k = 0; k < 4; ++k) h = (h ^ ((u >> (8 * k)) & 0xff)) * 1099511628211ull;
  }
}

}  // namespace

int main() {
  constexpr int64_t kChunk = (int64_t(1) << 22) - 3, kStride = 7, kRow = 37;  // a tail of 13 per chunk
  std::map<std::string, uint64_t> h;
  for (const char* k : {"exp", "sigmoid", "silu", "gelu", "silu_grad", "gelu_grad", "bias_silu_y", "bias_silu_s",
                        "bias_gelu_y", "softmax"})
    h[k] = 1469598103934665603ull;
  std::vector<float> xs, fin;
  const Tensor bias = full({kRow}, 0.25);
  auto flush = [&] {
    const int64_t n = int64_t(xs.size());
    const Tensor x = from_vector(xs, {n});
    const Tensor d = full({n}, 1.5);
    const Tensor s = sigmoid(x), si = silu(x), g = gelu(x);
    mix(h["exp"], exp(x));
    mix(h["sigmoid"], s);
    mix(h["silu"], si);
    mix(h["gelu"], g);
    mix(h["silu_grad"], unary_grad(UnaryOp::silu, x, si, d));
    mix(h["gelu_grad"], unary_grad(UnaryOp::gelu_erf, x, g, d));
    const int64_t rows = n / kRow;
    const Tensor x2 = x.slice(0, 0, rows * kRow).reshape({rows, kRow});
    const BiasActivationForward fs = bias_activation_forward(UnaryOp::silu, {}, x2, bias, true);
    mix(h["bias_silu_y"], fs.y);
    mix(h["bias_silu_s"], fs.sigmoid);
    mix(h["bias_gelu_y"], bias_activation_forward(UnaryOp::gelu_erf, {}, x2, bias, true).y);
    const int64_t frows = int64_t(fin.size()) / kRow;
    if (frows > 0)
      mix(h["softmax"],
          softmax(from_vector(fin, {int64_t(fin.size())}).slice(0, 0, frows * kRow).reshape({frows, kRow}), -1));
    xs.clear();
    fin.clear();
  };
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += kStride) {
    float x;
    const uint32_t b = uint32_t(u);
    std::memcpy(&x, &b, 4);
    xs.push_back(x);
    if (std::isfinite(x) && std::fabs(x) < 1e30f) fin.push_back(x);
    if (int64_t(xs.size()) == kChunk) flush();
  }
  flush();
  for (const auto& [k, v] : h) std::printf("%-12s %016llx\n", k.c_str(), (unsigned long long)v);
}
