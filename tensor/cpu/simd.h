// The CPU kernels' vector type: GCC vector extensions as wide as the -march the
// build targets (64 bytes with AVX-512, 32 with AVX2, 16 otherwise), so one
// source gives AVX-512, AVX2 or SSE code. Also an in-register transpose of a
// square block of vectors, for reading a matrix across its contiguous axis.
#pragma once

#include <cstdint>
#include <type_traits>

namespace gradlab::cpu {

#if defined(__AVX512F__)
constexpr int kVecBytes = 64;
#elif defined(__AVX2__)
constexpr int kVecBytes = 32;
#else
constexpr int kVecBytes = 16;
#endif

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(kVecBytes)));  // aligned
  typedef T unaligned __attribute__((vector_size(kVecBytes), aligned(alignof(T))));
  using lane_index = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  typedef lane_index index __attribute__((vector_size(kVecBytes)));  // shuffle masks
  static constexpr int lanes = kVecBytes / int(sizeof(T));
};

// Transposes the L x L block whose row i is v[i] (L = lanes) in place, in
// log2(L) stages of two-vector shuffles. The stage of half-width h pairs rows i
// and i + h (i & h == 0) and swaps, within every 2h-wide group of lanes, the
// upper h lanes of row i with the lower h lanes of row i + h: the off-diagonal
// blocks of each 2h x 2h block change places. After the stages h = L/2, ..., 1
// every block has been transposed at every scale, which is the transpose.
template <class T, int h>
[[gnu::always_inline]] inline void transpose_stage(typename Vec<T>::type* v) {
  using I = typename Vec<T>::index;
  constexpr int L = Vec<T>::lanes;
  I lo, hi;  // lane x of the new rows i and i + h, as an index into (row i, row i + h)
  for (int x = 0; x < L; ++x) {
    const int group = x / (2 * h) * (2 * h), o = x % (2 * h);
    lo[x] = o < h ? group + o : L + group + o - h;
    hi[x] = o < h ? group + h + o : L + group + o;
  }
  for (int i = 0; i < L; ++i)
    if ((i & h) == 0) {
      const auto a = v[i], b = v[i + h];
      v[i] = __builtin_shuffle(a, b, lo);
      v[i + h] = __builtin_shuffle(a, b, hi);
    }
  if constexpr (h > 1) transpose_stage<T, h / 2>(v);
}

template <class T>
[[gnu::always_inline]] inline void transpose_block(typename Vec<T>::type* v) {
  transpose_stage<T, Vec<T>::lanes / 2>(v);
}

}  // namespace gradlab::cpu
