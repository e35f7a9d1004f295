// CUDA reductions: sum, max, min over any set of axes, and argmax/argmin along
// one. As on the CPU (tensor/cpu/reduce.cpp), the contiguous input's axes are
// grouped into runs of kept and reduced axes, and each reduced run is one
// [outer, R, inner] reduction:
//   inner == 1: one block per row, threads striding along it (coalesced), then
//               a shuffle + shared-memory block reduction;
//   inner > 1:  one thread per (outer, inner) column, walking R (coalesced
//               across the threads of a warp).
// Few long reductions are first split into chunks of R whose partial results
// (in the accumulator type: f32 sums accumulate in f64, as on the CPU) are
// reduced again, so that the whole GPU takes part. Orders are fixed, so
// results are deterministic.
#include <vector>

#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/reduce_steps.h"

namespace gradlab::cuda {

namespace {

// out[row] = reduce of x[o, c L .. min(R, (c + 1) L)) for row = o * chunks + c.
template <class In, class Out, class Op>
__global__ void rows_kernel(const In* x, Out* out, int64_t rows, int64_t R, int64_t chunks, int64_t L) {
  using Acc = typename Op::Acc;
  __shared__ Acc scratch[32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const int64_t o = row / chunks, c = row % chunks;
    const int64_t begin = c * L, end = begin + L < R ? begin + L : R;
    const In* p = x + o * R;
    Acc acc = Op::init();
    for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) acc = Op::combine(acc, Acc(p[r]));
    acc = block_reduce<Op>(acc, scratch);
    if (threadIdx.x == 0) out[row] = Out(acc);
  }
}

// out[(o chunks + c) inner + i] = reduce over r in chunk c of x[o, r, i].
template <class In, class Out, class Op>
__global__ void cols_kernel(const In* x, Out* out, int64_t outer, int64_t R, int64_t inner, int64_t chunks, int64_t L) {
  using Acc = typename Op::Acc;
  const int64_t total = outer * chunks * inner;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t job = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; job < total; job += step) {
    const int64_t i = job % inner, oc = job / inner;
    const int64_t o = oc / chunks, c = oc % chunks;
    const int64_t begin = c * L, end = begin + L < R ? begin + L : R;
    const In* p = x + o * R * inner + i;
    Acc acc = Op::init();
    for (int64_t r = begin; r < end; ++r) acc = Op::combine(acc, Acc(p[r * inner]));
    out[job] = Out(acc);
  }
}

constexpr int64_t kWideEnough = 1 << 14;  // outputs (rows or columns) that keep the GPU busy by themselves

// out [outer, inner] = reduction over R of a contiguous x [outer, R, inner].
template <class In, class Out, template <class> class OpT>
void reduce_axis(const In* x, Out* out, int64_t outer, int64_t R, int64_t inner) {
  using Op = OpT<In>;
  using Acc = typename Op::Acc;
  // Chunks of R when the outputs alone are too few to fill the GPU.
  int64_t chunks = 1;
  if (inner == 1 && outer < 256 && R > 65536) chunks = std::min<int64_t>(1024, R / 16384);
  if (inner > 1 && outer * inner < kWideEnough && R > 64)
    chunks = std::min<int64_t>(R / 16, std::max<int64_t>(1, kWideEnough / (outer * inner)));
  chunks = std::max<int64_t>(chunks, 1);
  const int64_t L = (R + chunks - 1) / chunks;
  if (chunks > 1) {
    Tensor partial = Tensor::empty({outer * chunks * inner}, dtype_of<Acc>(), Device::cuda);
    Acc* pp = ptr<Acc>(partial);
    if (inner == 1) {
      const int64_t rows = outer * chunks;
      rows_kernel<In, Acc, Op>
          <<<unsigned(std::min<int64_t>(rows, 1 << 20)), 256, 0, stream()>>>(x, pp, rows, R, chunks, L);
    } else {
      cols_kernel<In, Acc, Op>
          <<<blocks_for(outer * chunks * inner, kThreads), kThreads, 0, stream()>>>(x, pp, outer, R, inner, chunks, L);
    }
    GL_CUDA_LAUNCHED("reduce (partial)");
    reduce_axis<Acc, Out, OpT>(pp, out, outer, chunks, inner);
    return;
  }
  if (inner == 1) {
    const int threads = int(std::min<int64_t>(row_threads(R), 256));
    rows_kernel<In, Out, Op>
        <<<unsigned(std::min<int64_t>(outer, 1 << 20)), threads, 0, stream()>>>(x, out, outer, R, 1, R);
  } else {
    cols_kernel<In, Out, Op>
        <<<blocks_for(outer * inner, kThreads), kThreads, 0, stream()>>>(x, out, outer, R, inner, 1, R);
  }
  GL_CUDA_LAUNCHED("reduce");
}

template <class T>
void reduce_run_op(ReduceOp op, const T* x, T* out, int64_t outer, int64_t R, int64_t inner) {
  switch (op) {
    case ReduceOp::sum: return reduce_axis<T, T, SumOp>(x, out, outer, R, inner);
    case ReduceOp::max: return reduce_axis<T, T, MaxOp>(x, out, outer, R, inner);
    case ReduceOp::min: return reduce_axis<T, T, MinOp>(x, out, outer, R, inner);
  }
}

// Index of the best element along n for each (outer, inner); NaN wins, as in
// max; among equals the first index wins (the CPU's rule).
template <class T>
__device__ __forceinline__ bool better(T v, int64_t iv, T best, int64_t ib, bool want_max) {
  const bool vn = v != v, bn = best != best;
  if (vn || bn) return vn && (!bn || iv < ib);
  if (v == best) return iv < ib;
  return want_max ? v > best : v < best;
}

template <class T>
__global__ void arg_rows_kernel(const T* x, int64_t* out, int64_t rows, int64_t n, bool want_max) {
  __shared__ T sv[32];
  __shared__ int64_t si[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* p = x + row * n;
    T best = p[0];
    int64_t arg = 0;
    for (int64_t r = threadIdx.x; r < n; r += blockDim.x)
      if (better(p[r], r, best, arg, want_max)) best = p[r], arg = r;
    for (int offset = 16; offset > 0; offset /= 2) {
      const T ov = __shfl_xor_sync(0xffffffffu, best, offset);
      const int64_t oi = __shfl_xor_sync(0xffffffffu, arg, offset);
      if (better(ov, oi, best, arg, want_max)) best = ov, arg = oi;
    }
    __syncthreads();
    if (lane == 0) sv[warp] = best, si[warp] = arg;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < warps; ++w)
        if (better(sv[w], si[w], best, arg, want_max)) best = sv[w], arg = si[w];
      out[row] = arg;
    }
  }
}

template <class T>
__global__ void arg_cols_kernel(const T* x, int64_t* out, int64_t outer, int64_t n, int64_t inner, bool want_max) {
  const int64_t total = outer * inner, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t job = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; job < total; job += step) {
    const int64_t o = job / inner, i = job % inner;
    const T* p = x + o * n * inner + i;
    T best = p[0];
    int64_t arg = 0;
    for (int64_t r = 1; r < n; ++r)
      if (better(p[r * inner], r, best, arg, want_max)) best = p[r * inner], arg = r;
    out[job] = arg;
  }
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x_in, std::span<const int> axes, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  dispatch_numeric(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    run_reduce_steps(x, axes, out, [&](const ReduceStep& s, const Tensor& src, const Tensor& dst) {
      reduce_run_op<T>(op, ptr<const T>(src), ptr<T>(dst), s.outer, s.R, s.inner);
    });
  });
}

void arg_reduce(ArgReduceOp op, const Tensor& x_in, int axis, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  const bool want_max = op == ArgReduceOp::argmax;
  if (s.outer * s.inner == 0) return;
  dispatch_numeric(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    if (s.inner == 1) {
      const int threads = int(std::min<int64_t>(row_threads(s.n), 256));
      arg_rows_kernel<T><<<unsigned(std::min<int64_t>(s.outer, 1 << 20)), threads, 0, stream()>>>(
          ptr<const T>(x), ptr<int64_t>(out), s.outer, s.n, want_max);
    } else {
      arg_cols_kernel<T><<<blocks_for(s.outer * s.inner, kThreads), kThreads, 0, stream()>>>(
          ptr<const T>(x), ptr<int64_t>(out), s.outer, s.n, s.inner, want_max);
    }
    GL_CUDA_LAUNCHED("arg_reduce");
  });
}

}  // namespace gradlab::cuda
