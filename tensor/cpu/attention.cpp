// CPU scaled dot-product attention, forward and backward, f32 and f64, for
// q, k, v [B, H, T, D] read in place through their strides: per (batch, head)
// a few packed GEMMs and row softmaxes, heads in parallel. A causal head works
// in blocks of 64 query rows against only the keys up to each block's last
// row, which skips the masked half of q k^T. Score rows are padded to whole
// vectors, so the softmax passes stay vectorised for short sequences too; the
// max and the sum still run over the real entries, in a fixed order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/exp_avx512.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/kernels.h"
#include "tensor/cpu/row_reduce.h"
#include "tensor/functors.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

constexpr int64_t kCausalBlock = 64;

// One (batch, head) slice [T, D] of a [B, H, T, D] tensor, by strides.
template <class T>
struct HeadView {
  const T* data;
  int64_t rs, cs;  // strides of the T and D axes
  // Rows r0.. as a GEMM operand, or the transpose of those rows ([D, T - r0]).
  MatrixView<T> rows(int64_t r0) const { return {data + r0 * rs, rs, cs}; }
  MatrixView<T> transposed() const { return {data, cs, rs}; }
};
// All heads of a [B, H, T, D] tensor; pointers are taken (and the dtype
// checked) before any parallel region.
template <class T>
struct HeadsView {
  explicit HeadsView(const Tensor& t)
      : data(t.data<T>()), sb(t.stride(0)), sh(t.stride(1)), rs(t.stride(2)), cs(t.stride(3)) {}
  HeadView<T> at(int64_t b, int64_t h) const { return {data + b * sb + h * sh, rs, cs}; }
  const T* data;
  int64_t sb, sh, rs, cs;
};

// Splits B*H heads into chunks (one per thread at most, none under ~2e5 flops)
// so that each chunk's scratch can be allocated before the parallel region.
int64_t head_chunks(int64_t heads, int64_t len, int64_t D) {
  const double flops = 4.0 * double(len) * double(len) * double(D);
  const int64_t grain = std::max<int64_t>(1, int64_t(2e5 / std::max(flops, 1.0)));
  return std::clamp<int64_t>((heads + grain - 1) / grain, 1, std::min<int64_t>(num_threads(), heads));
}

constexpr int kLanes = 16;

// n rounded up to whole lanes: the row stride of the score scratch and of the
// key flags, so that every elementwise loop over a row runs in whole vectors,
// however short the row (a dozen positions would otherwise run scalar).
int64_t whole_lanes(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// n rounded up to whole lanes, when the row has room for it (capacity cap).
int64_t padded(int64_t n, int64_t cap) { return std::min(cap, whole_lanes(n)); }

// Which keys each batch entry may attend to: the key mask, or all ones; rows
// of whole_lanes(len) flags, zero past len. The flags are 32-bit, as wide as an
// f32 score, so a loop over a row of scores and flags vectorises 16 at a time
// (bytes would make the compiler want 64 per iteration).
std::vector<int32_t> key_keep(const Tensor& key_mask, int64_t B, int64_t len) {
  const int64_t stride = whole_lanes(len);
  std::vector<int32_t> keep(size_t(B * stride), 0);
  const bool* m = key_mask.defined() ? key_mask.data<bool>() : nullptr;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < len; ++j) keep[size_t(b * stride + j)] = m == nullptr || m[b * len + j] ? 1 : 0;
  return keep;
}

// Whether batch entry b keeps every key (then the rows take the dense path).
std::vector<uint8_t> all_kept(const std::vector<int32_t>& keep, int64_t B, int64_t len) {
  const int64_t stride = whole_lanes(len);
  std::vector<uint8_t> all(size_t(B), 1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < len; ++j) all[size_t(b)] &= keep[size_t(b * stride + j)];
  return all;
}

// softmax_row for a row where every key j < visible takes part (no key mask):
// max, exp, sum and normalisation passes, all vectorised. The max and the sum
// run over n, n_real rounded up to whole lanes within the row's length cap
// (entries past n_real set to -inf); the elementwise passes run over whole
// vectors of the row's stride. scale > 0, so the max of the scaled scores is
// scale * max.
template <class T>
T softmax_row_dense(T* s, int64_t n_real, int64_t kend, int64_t cap, T scale) {
  const int64_t n = padded(n_real, cap), w = whole_lanes(n);
  std::fill(s + n_real, s + w, -std::numeric_limits<T>::infinity());
  const T shift = max_row(s, n) * scale;
  exp_affine(s, s, w, scale, shift);
  const T sum = T(sum_row(s, n));
  const T inv = T(1) / sum;
  for (int64_t i = 0; i < w; ++i) s[i] *= inv;
  std::fill(s + n_real, s + std::max(kend, n), T(0));
  return shift + fn::log(sum);
}

// Row i of the probabilities, in place over s[0, kend): s holds q_i . k_j;
// keys j < visible with keep[j] take part, every other entry becomes 0. The
// row and keep have room for whole vectors past `visible`, which the
// elementwise passes use; the max and the sum run over `visible` exactly.
// Returns the row's log-sum-exp of the scaled scores, -inf if no key takes part.
template <class T>
T softmax_row(T* s, const int32_t* keep, bool all_kept, int64_t visible, int64_t kend, int64_t cap, T scale) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  if (all_kept) return softmax_row_dense(s, visible, kend, cap, scale);
  const int64_t w = whole_lanes(visible);
  std::fill(s + visible, s + w, kNegInf);
  for (int64_t j = 0; j < w; ++j) s[j] = keep[j] ? s[j] * scale : kNegInf;
  const T m = max_row(s, visible);
  if (m == kNegInf) {
    std::fill(s, s + kend, T(0));
    return kNegInf;
  }
  // exp runs on every entry and the mask selects afterwards, so the loops have
  // no branch and vectorise (a masked entry holds -inf, and is set to 0 anyway).
  exp_minus(s, s, w, m);
  for (int64_t j = 0; j < w; ++j) s[j] = keep[j] ? s[j] : T(0);
  const double sum = sum_row(s, visible);
  const T inv = T(1.0 / sum);
  for (int64_t j = 0; j < w; ++j) s[j] *= inv;
  std::fill(s + visible, s + kend, T(0));
  return T(double(m) + std::log(sum));
}

// sum_d a[d] b[d] over strided rows, in f64 with 8 accumulators.
template <class T>
double dot_row(const T* a, int64_t sa, const T* b, int64_t sb, int64_t n) {
  double acc[8] = {};
  int64_t d = 0;
  for (; d + 8 <= n; d += 8)
    for (int j = 0; j < 8; ++j) acc[j] += double(a[(d + j) * sa]) * double(b[(d + j) * sb]);
  for (; d < n; ++d) acc[0] += double(a[d * sa]) * double(b[d * sb]);
  for (int w = 4; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// One head forward: out [len, D] and lse [len], contiguous; S is [bs, lds]
// scratch, lds = whole_lanes(len).
template <class T>
void head_forward(HeadView<T> q, HeadView<T> k, HeadView<T> v, const int32_t* keep, bool all_kept, bool causal,
                  int64_t len, int64_t D, T* S, T* out, T* lse) {
  const T scale = T(1.0 / std::sqrt(double(D)));
  const int64_t bs = causal ? kCausalBlock : len, lds = whole_lanes(len);
  for (int64_t i0 = 0; i0 < len; i0 += bs) {
    const int64_t i1 = std::min(len, i0 + bs), kend = causal ? i1 : len;
    gemm<T>(i1 - i0, kend, D, q.rows(i0), k.transposed(), S, lds, false);  // S = q k^T
    for (int64_t i = i0; i < i1; ++i)
      lse[i] = softmax_row(S + (i - i0) * lds, keep, all_kept, causal ? i + 1 : len, kend, len, scale);
    gemm<T>(i1 - i0, D, kend, {S, lds, 1}, v.rows(0), out + i0 * D, D, false);  // out = P v
  }
}

// One head backward: dq, dk, dv [len, D] contiguous; P and dS are [len, lds]
// scratch, lds = whole_lanes(len). P = exp(s / sqrt(D) - lse) is recomputed, never read from the forward:
//   dP = dout v^T,  dS = P (dP - rowsum(P dP)) / sqrt(D),  rowsum(P dP) = rowsum(dout * out),
//   dq = dS k,  dk = dS^T q,  dv = P^T dout.
template <class T>
void head_backward(HeadView<T> dout, HeadView<T> q, HeadView<T> k, HeadView<T> v, HeadView<T> out, const T* lse,
                   const int32_t* keep, bool all_kept, bool causal, int64_t len, int64_t D, T* P, T* dS, T* dq, T* dk,
                   T* dv) {
  constexpr T kNegInf = -std::numeric_limits<T>::infinity();
  const T scale = T(1.0 / std::sqrt(double(D)));
  const int64_t bs = causal ? kCausalBlock : len, lds = whole_lanes(len);
  // Query blocks: P and dS rows, then dq = dS k.
  for (int64_t i0 = 0; i0 < len; i0 += bs) {
    const int64_t i1 = std::min(len, i0 + bs), kend = causal ? i1 : len;
    gemm<T>(i1 - i0, kend, D, q.rows(i0), k.transposed(), P + i0 * lds, lds, false);      // q k^T
    gemm<T>(i1 - i0, kend, D, dout.rows(i0), v.transposed(), dS + i0 * lds, lds, false);  // dP = dout v^T
    for (int64_t i = i0; i < i1; ++i) {
      T* p = P + i * lds;
      T* ds = dS + i * lds;
      const int64_t visible = causal ? i + 1 : len;
      if (lse[i] == kNegInf) {  // a query that saw no key: no gradient
        std::fill(p, p + kend, T(0));
        std::fill(ds, ds + kend, T(0));
        continue;
      }
      // rowsum(P * dP) = dout_i . out_i
      const T di = T(dot_row(dout.data + i * dout.rs, dout.cs, out.data + i * out.rs, out.cs, D));
      const T l = lse[i];
      // Up to whole lanes (the rows have room): the entries past `visible` are zeroed below.
      const int64_t w = whole_lanes(visible);
      exp_affine(p, p, w, scale, l);
      if (!all_kept)  // exp first, then the mask: no branch, vectorised
        for (int64_t j = 0; j < w; ++j) p[j] = keep[j] ? p[j] : T(0);
      for (int64_t j = 0; j < w; ++j) ds[j] = p[j] * (ds[j] - di) * scale;
      std::fill(p + visible, p + kend, T(0));
      std::fill(ds + visible, ds + kend, T(0));
    }
    gemm<T>(i1 - i0, D, kend, {dS + i0 * lds, lds, 1}, k.rows(0), dq + i0 * D, D, false);
  }
  // Key blocks: dv = P^T dout and dk = dS^T q over the queries that see them.
  for (int64_t j0 = 0; j0 < len; j0 += bs) {
    const int64_t j1 = std::min(len, j0 + bs), first = causal ? j0 : 0;
    gemm<T>(j1 - j0, D, len - first, {P + first * lds + j0, 1, lds}, dout.rows(first), dv + j0 * D, D, false);
    gemm<T>(j1 - j0, D, len - first, {dS + first * lds + j0, 1, lds}, q.rows(first), dk + j0 * D, D, false);
  }
}

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
               const Tensor& out, const Tensor& lse) {
  const int64_t B = q.shape()[0], H = q.shape()[1], len = q.shape()[2], D = q.shape()[3];
  const std::vector<int32_t> keep = key_keep(key_mask, B, len);
  const std::vector<uint8_t> dense = all_kept(keep, B, len);
  const int64_t heads = B * H, chunks = head_chunks(heads, len, D);
  const int64_t scratch = (causal ? std::min(kCausalBlock, len) : len) * whole_lanes(len);
  dispatch_float(q.dtype(), "attention", [&](auto tag) {
    using T = decltype(tag);
    // Scratch from the caching allocator, zeroed once: the padding of the rows
    // past the keys holds no stale bits.
    const Tensor S = Tensor::empty({chunks * scratch}, q.dtype());
    T* ps = S.data<T>();
    std::fill_n(ps, chunks * scratch, T(0));
    const HeadsView<T> vq(q), vk(k), vv(v);
    T* po = out.data<T>();
    T* pl = lse.data<T>();
    parallel_for(chunks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c)
        for (int64_t bh = heads * c / chunks; bh < heads * (c + 1) / chunks; ++bh) {
          const int64_t b = bh / H, h = bh % H;
          head_forward<T>(vq.at(b, h), vk.at(b, h), vv.at(b, h), keep.data() + b * whole_lanes(len),
                          dense[size_t(b)] != 0, causal, len, D, ps + c * scratch, po + bh * len * D, pl + bh * len);
        }
    });
  });
}

void attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, bool causal, const Tensor& key_mask, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv) {
  const int64_t B = q.shape()[0], H = q.shape()[1], len = q.shape()[2], D = q.shape()[3];
  const std::vector<int32_t> keep = key_keep(key_mask, B, len);
  const std::vector<uint8_t> dense = all_kept(keep, B, len);
  const int64_t heads = B * H, chunks = head_chunks(heads, len, D);
  const int64_t scratch = len * whole_lanes(len);
  dispatch_float(q.dtype(), "attention_backward", [&](auto tag) {
    using T = decltype(tag);
    const Tensor P = Tensor::empty({chunks * scratch}, q.dtype()), dS = Tensor::empty({chunks * scratch}, q.dtype());
    T *pp = P.data<T>(), *pds = dS.data<T>();
    std::fill_n(pp, chunks * scratch, T(0));  // zeroed once, as in the forward
    std::fill_n(pds, chunks * scratch, T(0));
    const HeadsView<T> vdout(dout), vq(q), vk(k), vv(v), vout(out);
    const T* pl = lse.data<T>();
    T *pdq = dq.data<T>(), *pdk = dk.data<T>(), *pdv = dv.data<T>();
    parallel_for(chunks, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c)
        for (int64_t bh = heads * c / chunks; bh < heads * (c + 1) / chunks; ++bh) {
          const int64_t b = bh / H, h = bh % H, o = bh * len * D;
          head_backward<T>(vdout.at(b, h), vq.at(b, h), vk.at(b, h), vv.at(b, h), vout.at(b, h), pl + bh * len,
                           keep.data() + b * whole_lanes(len), dense[size_t(b)] != 0, causal, len, D, pp + c * scratch,
                           pds + c * scratch, pdq + o, pdk + o, pdv + o);
        }
    });
  });
}

}  // namespace gradlab::cpu
