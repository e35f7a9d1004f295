// Shared pieces of the CUDA kernels: the strided indexer that lets one kernel
// read any view (the GPU twin of tensor/cpu/loop.h), warp and block
// reductions built on shuffles, and the reduction operators (the same
// NaN-propagating max/min as the CPU, from tensor/functors.h).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "tensor/cuda/check.h"
#include "tensor/functors.h"
#include "tensor/tensor.h"

namespace gradlab::cuda {

constexpr int kThreads = 256;  // default block size of the elementwise kernels

// N operands of one shape seen as the fewest axes (size-1 axes dropped, axes
// merged where every operand is contiguous across them), innermost first,
// strides in elements. Passed to kernels by value.
template <int N>
struct Indexer {
  int ndim = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[N][kMaxDims] = {};
  bool contiguous = true;  // every operand is a plain 0..n-1 array

  // Element offsets of linear (C-order) index i in each operand.
  __device__ __forceinline__ void offsets(int64_t i, int64_t (&off)[N]) const {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = 0; d < ndim; ++d) {
      const int64_t c = i % size[d];
      i /= size[d];
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += c * stride[k][d];
    }
  }
};

template <int N>
Indexer<N> make_indexer(const std::array<const Tensor*, N>& ops) {
  Indexer<N> L;
  const Shape& shape = ops[0]->shape();
  for (int axis = shape.size() - 1; axis >= 0; --axis) {
    if (shape[axis] == 1) continue;
    const int d = L.ndim;
    bool merge = d > 0;
    for (int k = 0; k < N && merge; ++k) merge = ops[k]->strides()[axis] == L.stride[k][d - 1] * L.size[d - 1];
    if (merge) {
      L.size[d - 1] *= shape[axis];
      continue;
    }
    L.size[d] = shape[axis];
    for (int k = 0; k < N; ++k) L.stride[k][d] = ops[k]->strides()[axis];
    ++L.ndim;
  }
  if (L.ndim == 0) {
    L.ndim = 1;
    L.size[0] = 1;
    for (int k = 0; k < N; ++k) L.stride[k][0] = 1;
  }
  L.contiguous = L.ndim == 1;
  for (int k = 0; k < N; ++k) L.contiguous = L.contiguous && L.stride[k][0] == 1;
  return L;
}

// Typed device pointer to a tensor's first element (no dtype check: callers dispatch first).
template <class T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}

// ---- reduction operators (device twins of tensor/cpu/row_reduce.h) ----
template <class T>
struct SumOp {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;  // f32 sums in f64, as the CPU
  __device__ static Acc init() { return Acc(0); }
  __device__ static Acc combine(Acc a, Acc b) { return a + b; }
};
template <class T>
struct MaxOp {
  using Acc = T;
  __device__ static Acc init() {
    if constexpr (std::is_floating_point_v<T>)
      return -std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::lowest();
  }
  __device__ static Acc combine(Acc a, Acc b) { return fn::Maximum{}(a, b); }
};
template <class T>
struct MinOp {
  using Acc = T;
  __device__ static Acc init() {
    if constexpr (std::is_floating_point_v<T>)
      return std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::max();
  }
  __device__ static Acc combine(Acc a, Acc b) { return fn::Minimum{}(a, b); }
};
struct DoubleSum {
  __device__ static double combine(double a, double b) { return a + b; }
};
struct DoubleMax {
  __device__ static double combine(double a, double b) { return fn::Maximum{}(a, b); }
};

// Combines v across the 32 lanes of a warp with shuffles; every lane gets the result.
template <class Op, class V>
__device__ __forceinline__ V warp_reduce(V v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset /= 2) v = Op::combine(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Combines v across the block (blockDim.x a multiple of 32, at most 1024):
// warps reduce by shuffles, warp 0 combines their results; every thread gets
// the result. `scratch` holds 32 values; the call synchronises the block.
template <class Op, class V>
__device__ __forceinline__ V block_reduce(V v, V* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_reduce<Op>(v);
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  V r = scratch[0];
  for (int w = 1; w < warps; ++w) r = Op::combine(r, scratch[w]);
  return r;
}

// Threads per block for a row of n elements: a multiple of 32 in [32, 1024].
inline int row_threads(int64_t n) {
  int t = 32;
  while (t < 1024 && t < n) t *= 2;
  return t;
}

}  // namespace gradlab::cuda

#include "tensor/cuda/error_slot.h"

namespace gradlab::cuda {

// Records (value, position, check id) in the error slot unless something was
// recorded first; the host raises it later (tensor/cuda/error_slot.h).
__device__ __forceinline__ void report_bad_index(IndexCheck check, int64_t value, int64_t position) {
  if (atomicCAS(reinterpret_cast<unsigned long long*>(check.slot), 0ull, 1ull) == 0ull) {
    check.slot[1] = value;
    check.slot[2] = position;
    check.slot[3] = check.id;
  }
}

// x[i] += v atomically, for every numeric element type.
template <class T>
__device__ __forceinline__ void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, int64_t>)
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  else
    atomicAdd(p, v);
}

}  // namespace gradlab::cuda
