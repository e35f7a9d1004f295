// Compares add_layer_norm_forward with add then layer_norm_forward bit for
// bit: the sum, the norm, its mean and rstd, for 9 row lengths (1 to 1,000),
// 8 row counts (1 to 256), f32 and f64, with and without weight and bias.
// Prints each case that differs, then the count. Linked like the other
// binaries, and run with the thread count as its argument:
//   g++ -std=c++20 -O2 -march=native -fopenmp -I. bench/results/add_layer_norm/same_bits.cpp -o /tmp/same_bits \
//     -Wl,--whole-archive build/libgradlab.a -Wl,--no-whole-archive -lfmt \
//     -L/usr/lib/x86_64-linux-gnu/openmpi/lib -lmpi
//   /tmp/same_bits 1; /tmp/same_bits 2
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tensor/creation.h"
#include "tensor/fused_layers.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

using namespace gradlab;

namespace {
bool same(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data_ptr(), b.data_ptr(), a.numel() * a.itemsize()) == 0;
}
}  // namespace

int main(int argc, char** argv) {
  set_num_threads(argc > 1 ? std::atoi(argv[1]) : 1);
  Generator gen{7};
  int bad = 0, cases = 0;
  for (int64_t C : {1, 3, 7, 8, 13, 64, 128, 768, 1000})
    for (int64_t rows : {1, 2, 3, 4, 5, 9, 37, 256})
      for (DType dt : {DType::f32, DType::f64}) {
        const Tensor x = add(mul(randn({rows, C}, gen), 3.0), 1.5).to(dt), r = randn({rows, C}, gen).to(dt);
        const Tensor w = randn({C}, gen).to(dt), b = randn({C}, gen).to(dt);
        for (int affine = 0; affine < 2; ++affine) {
          const Tensor ww = affine ? w : Tensor(), bb = affine ? b : Tensor();
          const AddLayerNormForward fused = add_layer_norm_forward(x, r, ww, bb, 1e-5);
          const Tensor s = add(x, r);
          const LayerNormForward plain = layer_norm_forward(s, ww, bb, 1e-5);
          ++cases;
          if (!same(fused.sum, s) || !same(fused.norm.y, plain.y) || !same(fused.norm.mean, plain.mean) ||
              !same(fused.norm.rstd, plain.rstd)) {
            ++bad;
            std::printf("differ: C %lld, rows %lld, %s, affine %d\n", (long long)C, (long long)rows,
                        dt == DType::f32 ? "f32" : "f64", affine);
          }
        }
      }
  std::printf("%d of %d cases differ\n", bad, cases);
  return bad == 0 ? 0 : 1;
}
