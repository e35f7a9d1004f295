// CPU dropout: out_i = x_i * keep_i / (1 - p), keep_i = (u_i >= p), u_i being
// element i of the Philox stream (seed, offset) exactly as tensor/random.h maps
// it (f32: word i%4 of block offset + i/4; f64: two words of block offset + i/2).
// Blocks are made 16 at a time with the rounds written across blocks, so they
// run in vector lanes; the mask depends neither on thread count nor on order.
#include <algorithm>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"
#include "tensor/random.h"

namespace gradlab::cpu {

namespace {

constexpr int kBatch = 16;

// Blocks first .. first + kBatch - 1 of the stream for seed, in element order:
// w[4 j + word] is word `word` of block first + j. The same rounds as
// philox4x32_10, in 64-bit lanes so that the 32 x 32 -> 64-bit products vectorise.
void philox_batch(uint64_t seed, uint64_t first, uint32_t w[4 * kBatch]) {
  uint64_t c0[kBatch], c1[kBatch], c2[kBatch] = {}, c3[kBatch] = {};
  for (int j = 0; j < kBatch; ++j) {
    const uint64_t block = first + uint64_t(j);
    c0[j] = block & 0xFFFFFFFFu;
    c1[j] = block >> 32;
  }
  uint64_t k0 = seed & 0xFFFFFFFFu, k1 = seed >> 32;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 = (k0 + 0x9E3779B9u) & 0xFFFFFFFFu;
      k1 = (k1 + 0xBB67AE85u) & 0xFFFFFFFFu;
    }
#pragma omp simd
    for (int j = 0; j < kBatch; ++j) {
      const uint64_t p0 = 0xD2511F53u * c0[j];
      const uint64_t p1 = 0xCD9E8D57u * c2[j];
      c0[j] = (p1 >> 32) ^ c1[j] ^ k0;
      c1[j] = p1 & 0xFFFFFFFFu;
      c2[j] = (p0 >> 32) ^ c3[j] ^ k1;
      c3[j] = p0 & 0xFFFFFFFFu;
    }
  }
  for (int j = 0; j < kBatch; ++j) {
    w[4 * j] = uint32_t(c0[j]);
    w[4 * j + 1] = uint32_t(c1[j]);
    w[4 * j + 2] = uint32_t(c2[j]);
    w[4 * j + 3] = uint32_t(c3[j]);
  }
}

// Uniform element e of a batch, as philox_uniform_f32 / philox_uniform_f64
// compute it: one word an f32 element, two an f64 one.
inline double batch_uniform(const uint32_t* w, int e, float) { return double(float(w[e] >> 8) * (1.0f / 16777216.0f)); }
inline double batch_uniform(const uint32_t* w, int e, double) {
  const uint64_t bits = (uint64_t(w[2 * e]) << 32 | w[2 * e + 1]) >> 11;
  return double(bits) * (1.0 / 9007199254740992.0);
}

}  // namespace

void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out) {
  const int64_t n = x.numel();
  dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    constexpr int64_t per_batch = kBatch * (std::is_same_v<T, float> ? 4 : 2);  // elements a batch serves
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const T scale = T(1.0 / (1.0 - p));
    const int64_t batches = (n + per_batch - 1) / per_batch;
    // Captured by value: a store through po must not be able to change them.
    parallel_for(batches, std::max<int64_t>(1, kGrainTranscendental / per_batch), [=](int64_t lo, int64_t hi) {
      uint32_t w[4 * kBatch];
      for (int64_t b = lo; b < hi; ++b) {
        const int64_t i0 = b * per_batch, m = std::min(per_batch, n - i0);
        philox_batch(seed, offset + uint64_t(i0 / (per_batch / kBatch)), w);
        for (int e = 0; e < int(m); ++e) po[i0 + e] = px[i0 + e] * (batch_uniform(w, e, T{}) >= p ? scale : T(0));
      }
    });
  });
}

}  // namespace gradlab::cpu
