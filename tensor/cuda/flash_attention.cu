// Tiled flash attention for f32 q, k, v [B, H, T, D] (D <= 128, any strides):
// the score matrix is computed a tile at a time in shared memory, never whole.
// One block of 4 warps (128 threads) per tile of rows of one head; the head
// dimension is zero-padded to DP, a multiple of 16, in shared memory.
//
//   forward (BQ = 64 query rows a block, key tiles of BK = 64):
//     S = Q K^T for the tile (block_mm), then one warp per query row applies
//     the scale and the masks, takes the tile's row max, turns S into
//     P = exp(S - m_new), and rescales that row of the output accumulator O
//     and its running sum l by exp(m_old - m_new) (online softmax); then
//     O += P V (block_mm). At the end out = O / l and lse = m + log l (out 0
//     and lse -inf for a query that sees no key).
//   backward (tiles of 32 x 32), probabilities recomputed from lse:
//     Di = dout_i . out_i (one thread a row, summed in f64);
//     dk, dv: one block per key tile, looping over query tiles:
//       S = Q K^T, dP = dO V^T, P = exp(S scale - lse), dS = P (dP - Di) scale,
//       dV += P^T dO, dK += dS^T Q;
//     dq: one block per query tile, looping over key tiles: S, dP and dS
//       again, dQ += dS K.
//     Every output row has one owner block: no atomics, deterministic.
//
// block_mm is the one place the arithmetic differs: a C[M, N] (+)= A B over
// shared-memory tiles, computed by each thread as 4 x 4 outputs with f32 FMAs,
// or by each warp as 16 x 16 tiles on the tensor cores (nvcuda::wmma) with
// operands rounded to TF32, or copied to bf16 in a small per-warp buffer
// first; every kind sums in f32. Causal attention skips the tiles above the
// diagonal. The scalar kernels of tensor/cuda/attention.cu are the reference
// these are checked against (tests/cuda/test_flash_attention.cpp, on a GPU);
// the kernels themselves are in flash_attention_kernels.cuh, which
// tests/cuda_emulated/ also runs on the CPU. This file launches them.
#include <cuda_bf16.h>
#include <mma.h>

#include <algorithm>
#include <cmath>

#include "tensor/cuda/common.cuh"
#include "tensor/cuda/flash_attention.h"
#include "tensor/cuda/flash_attention_kernels.cuh"

namespace gradlab::cuda {

namespace {

using namespace flash;

Strides4 strides_of(const Tensor& x) { return {x.stride(0), x.stride(1), x.stride(2), x.stride(3)}; }

Geometry geometry_of(const Tensor& q, bool causal, const Tensor& key_mask) {
  const int64_t D = q.size(3);
  return {q.size(0),
          q.size(1),
          q.size(2),
          D,
          int((D + 15) / 16 * 16),
          causal,
          key_mask.defined() ? ptr<const bool>(key_mask) : nullptr,
          float(1.0 / std::sqrt(double(std::max<int64_t>(D, 1))))};
}

struct DeviceLimits {
  int shared_optin = 0;  // bytes of shared memory one block may ask for
  int major = 0;
};
const DeviceLimits& device_limits() {
  static const DeviceLimits limits = [] {
    DeviceLimits l;
    int dev = 0;
    GL_CUDA_CHECK(cudaGetDevice(&dev));
    GL_CUDA_CHECK(cudaDeviceGetAttribute(&l.shared_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    GL_CUDA_CHECK(cudaDeviceGetAttribute(&l.major, cudaDevAttrComputeCapabilityMajor, dev));
    return l;
  }();
  return limits;
}

// TF32 and bf16 need sm_80's tensor cores; older GPUs take the FMA path.
MmaPrecision usable(MmaPrecision p) { return device_limits().major >= 8 ? p : MmaPrecision::f32; }

// Lets Kernel use `bytes` of dynamic shared memory (above the default 48 KB);
// asks CUDA once per kernel and larger size.
template <auto Kernel>
void allow_shared(size_t bytes) {
  static size_t granted = 0;
  if (bytes <= granted) return;
  GL_CUDA_CHECK(cudaFuncSetAttribute(Kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)));
  granted = bytes;
}

// Calls fn(std::integral_constant<MmaPrecision, p>) for the runtime precision p.
template <class Fn>
void with_precision(MmaPrecision p, Fn&& fn) {
  switch (usable(p)) {
    case MmaPrecision::tf32: return fn(std::integral_constant<MmaPrecision, MmaPrecision::tf32>{});
    case MmaPrecision::bf16: return fn(std::integral_constant<MmaPrecision, MmaPrecision::bf16>{});
    default: return fn(std::integral_constant<MmaPrecision, MmaPrecision::f32>{});
  }
}

}  // namespace

bool flash_attention_supported(const Tensor& q, MmaPrecision /*precision: every kind takes the same shapes*/) {
  if (q.dtype() != DType::f32 || q.dim() != 4) return false;
  const int64_t D = q.size(3);
  if (D < 1 || D > kFlashMaxHeadDim || q.size(0) * q.size(1) >= 65536) return false;
  const int DP = int((D + 15) / 16 * 16);
  const size_t need = std::max(forward_shared(DP), backward_shared(DP));
  return need <= size_t(device_limits().shared_optin);
}

void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
                             const Tensor& out, const Tensor& lse, MmaPrecision precision) {
  const Geometry g = geometry_of(q, causal, key_mask);
  if (g.B * g.H * g.T == 0) return;
  GL_CHECK(flash_attention_supported(q, precision), "flash attention: q of shape {} and dtype {} is not supported",
           q.shape(), q.dtype());
  const size_t shared = forward_shared(g.DP);
  const dim3 grid(unsigned((g.T + kForwardBQ - 1) / kForwardBQ), unsigned(g.B * g.H));
  with_precision(precision, [&](auto p) {
    constexpr MmaPrecision P = decltype(p)::value;
    allow_shared<flash_forward_kernel<P>>(shared);
    flash_forward_kernel<P><<<grid, kFlashThreads, shared, stream()>>>(ptr<const float>(q), strides_of(q),
                                                                        ptr<const float>(k), strides_of(k),
                                                                        ptr<const float>(v), strides_of(v), g,
                                                                        ptr<float>(out), ptr<float>(lse));
    GL_CUDA_LAUNCHED("flash attention forward");
  });
}

void flash_attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, bool causal, const Tensor& key_mask, const Tensor& dq,
                              const Tensor& dk, const Tensor& dv, MmaPrecision precision) {
  const Geometry g = geometry_of(q, causal, key_mask);
  if (g.B * g.H * g.T == 0) return;
  GL_CHECK(flash_attention_supported(q, precision),
           "flash attention backward: q of shape {} and dtype {} is not supported", q.shape(), q.dtype());
  const Tensor Di = Tensor::empty({g.B * g.H * g.T}, DType::f32, Device::cuda);
  flash_row_dots<<<blocks_for(g.B * g.H * g.T, kThreads), kThreads, 0, stream()>>>(
      ptr<const float>(dout), strides_of(dout), ptr<const float>(out), strides_of(out), g, ptr<float>(Di));
  GL_CUDA_LAUNCHED("flash attention backward (row dots)");
  const size_t shared = backward_shared(g.DP);
  with_precision(precision, [&](auto p) {
    constexpr MmaPrecision P = decltype(p)::value;
    allow_shared<flash_dkdv_kernel<P>>(shared);
    allow_shared<flash_dq_kernel<P>>(shared);
    const dim3 grid_k(unsigned((g.T + kBackwardBK - 1) / kBackwardBK), unsigned(g.B * g.H));
    flash_dkdv_kernel<P><<<grid_k, kFlashThreads, shared, stream()>>>(
        ptr<const float>(dout), strides_of(dout), ptr<const float>(q), strides_of(q), ptr<const float>(k),
        strides_of(k), ptr<const float>(v), strides_of(v), ptr<const float>(lse), ptr<const float>(Di), g,
        ptr<float>(dk), ptr<float>(dv));
    GL_CUDA_LAUNCHED("flash attention backward (dk, dv)");
    const dim3 grid_q(unsigned((g.T + kBackwardBQ - 1) / kBackwardBQ), unsigned(g.B * g.H));
    flash_dq_kernel<P><<<grid_q, kFlashThreads, shared, stream()>>>(
        ptr<const float>(dout), strides_of(dout), ptr<const float>(q), strides_of(q), ptr<const float>(k),
        strides_of(k), ptr<const float>(v), strides_of(v), ptr<const float>(lse), ptr<const float>(Di), g,
        ptr<float>(dq));
    GL_CUDA_LAUNCHED("flash attention backward (dq)");
  });
}

}  // namespace gradlab::cuda
