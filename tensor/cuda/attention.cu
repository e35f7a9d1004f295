// CUDA fused scaled dot-product attention, forward and backward, for q, k, v
// [B, H, T, D] of any strides (the CPU twin is tensor/cpu/attention.cpp). The
// entries hand f32 attention with D <= 128 to the tiled tensor-core kernels of
// tensor/cuda/flash_attention.cu unless cuda_set_attention_kernel(reference)
// (tensor/device.h); the scalar kernels below take the rest and are the
// readable reference the flash kernels are checked against. The T x T score
// matrix is never stored:
//   forward:  one thread per query row keeps q_i, the running max m, the running
//             sum l and the output accumulator in registers; blocks of keys and
//             values are staged in shared memory and read by every thread of
//             the block (broadcast). Online softmax: when a score s exceeds m,
//             the accumulator and l are rescaled by exp(m - s). Then
//             out_i = acc / l and lse_i = m + log l (-inf, and out 0, for a
//             query that sees no key).
//   backward: P is recomputed from lse: p_ij = exp(s_ij - lse_i), and with
//             D_i = dout_i . out_i (= rowsum(P dP)),
//               dS_ij = p_ij (dout_i . v_j - D_i) / sqrt(D),
//             dq_i = sum_j dS_ij k_j (one thread per query row) and
//             dk_j = sum_i dS_ij q_i, dv_j = sum_i p_ij dout_i (one thread per key
//             row, its k_j and v_j in shared memory); no atomics, deterministic.
// Causal attention stops each query's (and starts each key's) loop at the
// diagonal, skipping the masked half. The dk/dv loop takes kGroup queries at a
// time, so that their dot products run as independent chains of FMAs rather
// than one chain each waiting on the last (at GPT-2-small shapes on an H100
// this made it 1.5x faster; the same change slowed the forward and dq kernels, which hold
// more per-thread arrays in registers, so they take one key at a time). The
// register arrays hold up to DMAX values; head dimensions up to 256 are
// instantiated.
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/flash_attention.h"
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

namespace {

constexpr int kMaxHeadDim = 256;
constexpr size_t kSharedBudget = 48 * 1024;
constexpr int kGroup = 4;  // queries per step of the dk/dv loop

// Element strides of a [B, H, T, D] tensor.
struct Strides4 {
  int64_t b, h, t, d;
};
Strides4 strides_of(const Tensor& x) { return {x.stride(0), x.stride(1), x.stride(2), x.stride(3)}; }

struct Geometry {
  int64_t B, H, T, D;
  bool causal;
  const bool* key_mask;  // [B, T] or null
};

template <class T>
__device__ __forceinline__ const T* row_ptr(const T* base, const Strides4& s, int64_t b, int64_t h, int64_t t) {
  return base + b * s.b + h * s.h + t * s.t;
}

// Stages rows [j0, j0 + n) of one head of x into tile [n][D] (all threads help).
template <class T>
__device__ __forceinline__ void load_tile(T* tile, const T* x, const Strides4& s, int64_t b, int64_t h, int64_t j0,
                                          int64_t n, int64_t D) {
  for (int64_t e = threadIdx.x; e < n * D; e += blockDim.x) {
    const int64_t r = e / D, d = e % D;
    tile[e] = row_ptr(x, s, b, h, j0 + r)[d * s.d];
  }
}

template <class T, int DMAX>
__global__ void attention_forward_kernel(const T* q, Strides4 sq, const T* k, Strides4 sk, const T* v, Strides4 sv,
                                         Geometry g, int64_t BC, T* out, T* lse) {
  extern __shared__ unsigned char smem[];
  T* Ks = reinterpret_cast<T*>(smem);
  T* Vs = Ks + BC * g.D;
  const int64_t bh = blockIdx.y, b = bh / g.H, h = bh % g.H, D = g.D;
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool valid = i < g.T;
  const T scale = T(1.0 / ::sqrt(double(D)));
  T qi[DMAX], acc[DMAX];
#pragma unroll
  for (int d = 0; d < DMAX; ++d) {
    qi[d] = (valid && d < D) ? row_ptr(q, sq, b, h, i)[d * sq.d] : T(0);
    acc[d] = T(0);
  }
  T m = -std::numeric_limits<T>::infinity(), l = T(0);
  const int64_t last_row = min(g.T, int64_t(blockIdx.x + 1) * blockDim.x) - 1;
  const int64_t kend = g.causal ? last_row + 1 : g.T;
  const bool* mask = g.key_mask ? g.key_mask + b * g.T : nullptr;
  for (int64_t j0 = 0; j0 < kend; j0 += BC) {
    const int64_t n = min(BC, kend - j0);
    __syncthreads();
    load_tile(Ks, k, sk, b, h, j0, n, D);
    load_tile(Vs, v, sv, b, h, j0, n, D);
    __syncthreads();
    if (!valid) continue;
    for (int64_t jj = 0; jj < n; ++jj) {
      const int64_t j = j0 + jj;
      if (g.causal && j > i) break;
      if (mask && !mask[j]) continue;
      const T* kj = Ks + jj * D;
      const T* vj = Vs + jj * D;
      T s = T(0);
#pragma unroll
      for (int d = 0; d < DMAX; ++d)
        if (d < D) s += qi[d] * kj[d];
      s *= scale;
      if (s > m) {  // a new max: rescale what was accumulated under the old one
        const T c = fn::exp(m - s);
        l = l * c + T(1);
#pragma unroll
        for (int d = 0; d < DMAX; ++d)
          if (d < D) acc[d] = acc[d] * c + vj[d];
        m = s;
      } else {
        const T p = fn::exp(s - m);
        l += p;
#pragma unroll
        for (int d = 0; d < DMAX; ++d)
          if (d < D) acc[d] += p * vj[d];
      }
    }
  }
  if (!valid) return;
  T* o = out + (bh * g.T + i) * D;
  const T inv = l > T(0) ? T(1) / l : T(0);
#pragma unroll
  for (int d = 0; d < DMAX; ++d)
    if (d < D) o[d] = acc[d] * inv;
  lse[bh * g.T + i] = l > T(0) ? m + fn::log(l) : -std::numeric_limits<T>::infinity();
}

// D_i = dout_i . out_i, in f64, for every query row.
template <class T>
__global__ void attention_row_dots(const T* dout, Strides4 sd, const T* out, Strides4 so, Geometry g, T* Di) {
  const int64_t rows = g.B * g.H * g.T, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; r < rows; r += step) {
    const int64_t t = r % g.T, bh = r / g.T, b = bh / g.H, h = bh % g.H;
    const T* a = row_ptr(dout, sd, b, h, t);
    const T* c = row_ptr(out, so, b, h, t);
    double s = 0;
    for (int64_t d = 0; d < g.D; ++d) s += double(a[d * sd.d]) * double(c[d * so.d]);
    Di[r] = T(s);
  }
}

// dq: one thread per query row.
template <class T, int DMAX>
__global__ void attention_dq_kernel(const T* dout, Strides4 sdo, const T* q, Strides4 sq, const T* k, Strides4 sk,
                                    const T* v, Strides4 sv, const T* lse, const T* Di, Geometry g, int64_t BC, T* dq) {
  extern __shared__ unsigned char smem[];
  T* Ks = reinterpret_cast<T*>(smem);
  T* Vs = Ks + BC * g.D;
  const int64_t bh = blockIdx.y, b = bh / g.H, h = bh % g.H, D = g.D;
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool valid = i < g.T;
  const T scale = T(1.0 / ::sqrt(double(D)));
  const T li = valid ? lse[bh * g.T + i] : T(0);
  const T di = valid ? Di[bh * g.T + i] : T(0);
  const bool sees = valid && li != -std::numeric_limits<T>::infinity();
  T qi[DMAX], doi[DMAX], acc[DMAX];
#pragma unroll
  for (int d = 0; d < DMAX; ++d) {
    qi[d] = (valid && d < D) ? row_ptr(q, sq, b, h, i)[d * sq.d] : T(0);
    doi[d] = (valid && d < D) ? row_ptr(dout, sdo, b, h, i)[d * sdo.d] : T(0);
    acc[d] = T(0);
  }
  const int64_t last_row = min(g.T, int64_t(blockIdx.x + 1) * blockDim.x) - 1;
  const int64_t kend = g.causal ? last_row + 1 : g.T;
  const bool* mask = g.key_mask ? g.key_mask + b * g.T : nullptr;
  for (int64_t j0 = 0; j0 < kend; j0 += BC) {
    const int64_t n = min(BC, kend - j0);
    __syncthreads();
    load_tile(Ks, k, sk, b, h, j0, n, D);
    load_tile(Vs, v, sv, b, h, j0, n, D);
    __syncthreads();
    if (!sees) continue;
    for (int64_t jj = 0; jj < n; ++jj) {
      const int64_t j = j0 + jj;
      if (g.causal && j > i) break;
      if (mask && !mask[j]) continue;
      const T* kj = Ks + jj * D;
      const T* vj = Vs + jj * D;
      T s = T(0), dp = T(0);
#pragma unroll
      for (int d = 0; d < DMAX; ++d)
        if (d < D) {
          s += qi[d] * kj[d];
          dp += doi[d] * vj[d];
        }
      const T p = fn::exp(s * scale - li);
      const T ds = p * (dp - di) * scale;
#pragma unroll
      for (int d = 0; d < DMAX; ++d)
        if (d < D) acc[d] += ds * kj[d];
    }
  }
  if (!valid) return;
  T* o = dq + (bh * g.T + i) * D;
#pragma unroll
  for (int d = 0; d < DMAX; ++d)
    if (d < D) o[d] = acc[d];
}

// dk, dv: one thread per key row; its k_j and v_j sit in shared memory (rows
// padded to D + 1 so that the threads' reads fall in different banks), blocks
// of q, dout, lse and D staged beside them.
template <class T, int DMAX>
__global__ void attention_dkdv_kernel(const T* dout, Strides4 sdo, const T* q, Strides4 sq, const T* k, Strides4 sk,
                                      const T* v, Strides4 sv, const T* lse, const T* Di, Geometry g, int64_t BQ, T* dk,
                                      T* dv) {
  extern __shared__ unsigned char smem[];
  const int64_t D = g.D, P = D + 1, BR = blockDim.x;
  T* Kown = reinterpret_cast<T*>(smem);
  T* Vown = Kown + BR * P;
  T* Qs = Vown + BR * P;
  T* Os = Qs + BQ * D;
  T* Ls = Os + BQ * D;
  T* Ds = Ls + BQ;
  const int64_t bh = blockIdx.y, b = bh / g.H, h = bh % g.H;
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool* mask = g.key_mask ? g.key_mask + b * g.T : nullptr;
  const bool valid = j < g.T;
  const bool kept = valid && (mask == nullptr || mask[j]);
  const T scale = T(1.0 / ::sqrt(double(D)));
  for (int64_t d = 0; d < D; ++d) {
    Kown[threadIdx.x * P + d] = valid ? row_ptr(k, sk, b, h, j)[d * sk.d] : T(0);
    Vown[threadIdx.x * P + d] = valid ? row_ptr(v, sv, b, h, j)[d * sv.d] : T(0);
  }
  T dka[DMAX], dva[DMAX];
#pragma unroll
  for (int d = 0; d < DMAX; ++d) dka[d] = dva[d] = T(0);
  const T* kj = Kown + threadIdx.x * P;
  const T* vj = Vown + threadIdx.x * P;
  const int64_t first = g.causal ? int64_t(blockIdx.x) * blockDim.x : 0;  // earlier queries never see these keys
  for (int64_t i0 = first; i0 < g.T; i0 += BQ) {
    const int64_t n = min(BQ, g.T - i0);
    __syncthreads();
    load_tile(Qs, q, sq, b, h, i0, n, D);
    load_tile(Os, dout, sdo, b, h, i0, n, D);
    for (int64_t e = threadIdx.x; e < n; e += blockDim.x) {
      Ls[e] = lse[bh * g.T + i0 + e];
      Ds[e] = Di[bh * g.T + i0 + e];
    }
    __syncthreads();
    if (!kept) continue;
    // Queries before the diagonal never see key j.
    for (int64_t ii = g.causal ? max(int64_t(0), j - i0) : 0; ii < n; ii += kGroup) {
      const T* qrow[kGroup];
      const T* orow[kGroup];
      T sc[kGroup], dp[kGroup];
#pragma unroll
      for (int u = 0; u < kGroup; ++u) {
        const int64_t r = min(ii + u, n - 1);  // clamped rows are ignored below
        qrow[u] = Qs + r * D;
        orow[u] = Os + r * D;
        sc[u] = dp[u] = T(0);
      }
#pragma unroll
      for (int d = 0; d < DMAX; ++d)
        if (d < D) {
          const T kd = kj[d], vd = vj[d];
#pragma unroll
          for (int u = 0; u < kGroup; ++u) {
            sc[u] += qrow[u][d] * kd;
            dp[u] += orow[u][d] * vd;
          }
        }
#pragma unroll
      for (int u = 0; u < kGroup; ++u) {
        if (ii + u >= n) continue;
        const T li = Ls[ii + u];
        if (li == -std::numeric_limits<T>::infinity()) continue;  // a query that sees no key
        const T p = fn::exp(sc[u] * scale - li);
        const T ds = p * (dp[u] - Ds[ii + u]) * scale;
#pragma unroll
        for (int d = 0; d < DMAX; ++d)
          if (d < D) {
            dva[d] += p * orow[u][d];
            dka[d] += ds * qrow[u][d];
          }
      }
    }
  }
  if (!valid) return;
  T* ok = dk + (bh * g.T + j) * D;
  T* ov = dv + (bh * g.T + j) * D;
#pragma unroll
  for (int d = 0; d < DMAX; ++d)
    if (d < D) {
      ok[d] = dka[d];
      ov[d] = dva[d];
    }
}

// Calls fn(std::integral_constant<int, DMAX>) with the smallest instantiated DMAX >= D.
template <class Fn>
void with_head_dim(int64_t D, std::string_view op, Fn&& fn) {
  GL_CHECK(D <= kMaxHeadDim, "{}: head dimension {} exceeds the CUDA kernel's limit of {}", op, D, kMaxHeadDim);
  if (D <= 32) return fn(std::integral_constant<int, 32>{});
  if (D <= 64) return fn(std::integral_constant<int, 64>{});
  if (D <= 128) return fn(std::integral_constant<int, 128>{});
  return fn(std::integral_constant<int, 256>{});
}

Geometry geometry_of(const Tensor& q, bool causal, const Tensor& key_mask) {
  return {q.size(0), q.size(1), q.size(2), q.size(3), causal, key_mask.defined() ? ptr<const bool>(key_mask) : nullptr};
}

constexpr int kRowsPerBlock = 64;

}  // namespace

void attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
               const Tensor& out, const Tensor& lse) {
  const MmaPrecision precision = mma_precision();
  if (flash_attention_enabled() && flash_attention_supported(q, precision))
    return flash_attention_forward(q, k, v, causal, key_mask, out, lse, precision);
  const Geometry g = geometry_of(q, causal, key_mask);
  if (g.B * g.H * g.T == 0) return;
  GL_CHECK(g.B * g.H < 65536, "attention: B * H = {} exceeds the CUDA grid limit of 65535", g.B * g.H);
  dispatch_float(q.dtype(), "attention", [&](auto tag) {
    using T = decltype(tag);
    with_head_dim(g.D, "attention", [&](auto dmax) {
      constexpr int DMAX = decltype(dmax)::value;
      const int64_t BC =
          std::clamp<int64_t>(int64_t(kSharedBudget / (2 * std::max<int64_t>(g.D, 1) * sizeof(T))), 1, 64);
      const size_t shared = size_t(2 * BC * g.D) * sizeof(T);
      const dim3 grid(unsigned((g.T + kRowsPerBlock - 1) / kRowsPerBlock), unsigned(g.B * g.H));
      attention_forward_kernel<T, DMAX>
          <<<grid, kRowsPerBlock, shared, stream()>>>(ptr<const T>(q), strides_of(q), ptr<const T>(k), strides_of(k),
                                                      ptr<const T>(v), strides_of(v), g, BC, ptr<T>(out), ptr<T>(lse));
      GL_CUDA_LAUNCHED("attention");
    });
  });
}

void attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                        const Tensor& lse, bool causal, const Tensor& key_mask, const Tensor& dq, const Tensor& dk,
                        const Tensor& dv) {
  const MmaPrecision precision = mma_precision();
  if (flash_attention_enabled() && flash_attention_supported(q, precision))
    return flash_attention_backward(dout, q, k, v, out, lse, causal, key_mask, dq, dk, dv, precision);
  const Geometry g = geometry_of(q, causal, key_mask);
  if (g.B * g.H * g.T == 0) return;
  GL_CHECK(g.B * g.H < 65536, "attention_backward: B * H = {} exceeds the CUDA grid limit of 65535", g.B * g.H);
  dispatch_float(q.dtype(), "attention_backward", [&](auto tag) {
    using T = decltype(tag);
    const Tensor Di = Tensor::empty({g.B * g.H * g.T}, q.dtype(), Device::cuda);
    attention_row_dots<T><<<blocks_for(g.B * g.H * g.T, kThreads), kThreads, 0, stream()>>>(
        ptr<const T>(dout), strides_of(dout), ptr<const T>(out), strides_of(out), g, ptr<T>(Di));
    GL_CUDA_LAUNCHED("attention_backward (row dots)");
    with_head_dim(g.D, "attention_backward", [&](auto dmax) {
      constexpr int DMAX = decltype(dmax)::value;
      const int64_t D = std::max<int64_t>(g.D, 1);
      // dq: as the forward.
      const int64_t BC = std::clamp<int64_t>(int64_t(kSharedBudget / (2 * D * sizeof(T))), 1, 64);
      const dim3 grid(unsigned((g.T + kRowsPerBlock - 1) / kRowsPerBlock), unsigned(g.B * g.H));
      attention_dq_kernel<T, DMAX><<<grid, kRowsPerBlock, size_t(2 * BC * D) * sizeof(T), stream()>>>(
          ptr<const T>(dout), strides_of(dout), ptr<const T>(q), strides_of(q), ptr<const T>(k), strides_of(k),
          ptr<const T>(v), strides_of(v), ptr<const T>(lse), ptr<const T>(Di), g, BC, ptr<T>(dq));
      GL_CUDA_LAUNCHED("attention_backward (dq)");
      // dk, dv: key rows per block so that their own k and v take at most 40 KB,
      // and query tiles of at most 16 rows: shared memory per thread is what
      // limits how many warps an SM holds here.
      int64_t BR = kRowsPerBlock;
      while (BR > 1 && size_t(2 * BR * (D + 1)) * sizeof(T) > 40 * 1024) BR /= 2;
      const size_t own = size_t(2 * BR * (D + 1)) * sizeof(T);
      const int64_t BQ = std::clamp<int64_t>(int64_t((kSharedBudget - own) / ((2 * D + 2) * sizeof(T))), 1, 16);
      const size_t shared = own + size_t(BQ * (2 * D + 2)) * sizeof(T);
      const dim3 grid_k(unsigned((g.T + BR - 1) / BR), unsigned(g.B * g.H));
      attention_dkdv_kernel<T, DMAX><<<grid_k, unsigned(BR), shared, stream()>>>(
          ptr<const T>(dout), strides_of(dout), ptr<const T>(q), strides_of(q), ptr<const T>(k), strides_of(k),
          ptr<const T>(v), strides_of(v), ptr<const T>(lse), ptr<const T>(Di), g, BQ, ptr<T>(dk), ptr<T>(dv));
      GL_CUDA_LAUNCHED("attention_backward (dk, dv)");
    });
  });
}

}  // namespace gradlab::cuda
