// CUDA sort and topk along one axis: one block per row of the [outer, n,
// inner] layout runs a bitonic sort of (value, index) pairs, in shared memory
// when the row (padded to a power of two) fits there, in global scratch
// otherwise. The comparison is the CPU's total order (tensor/cpu/sort.cpp):
// NaN largest, ties broken by index, so the result equals the CPU's stable
// sort exactly even though bitonic sorting is not stable itself. topk sorts the
// whole row and keeps the first k (rows are at most a vocabulary long).
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

namespace {

// Strict "a sorts before b"; padding (index < 0) sorts after everything.
template <class T>
__device__ __forceinline__ bool before(T av, int64_t ai, T bv, int64_t bi, bool desc) {
  if (ai < 0) return false;
  if (bi < 0) return true;
  const bool an = av != av, bn = bv != bv;
  if (an || bn) {
    if (an != bn) return desc ? an : bn;
    return ai < bi;
  }
  if (av != bv) return desc ? av > bv : av < bv;
  return ai < bi;
}

// Sorts each row (one per block) and writes its first `keep` entries.
template <class T>
__global__ void bitonic_rows(const T* x, T* values, int64_t* indices, int64_t rows, int64_t n, int64_t inner,
                             int64_t keep, int64_t P, bool desc, T* gvals, int64_t* gidx) {
  extern __shared__ unsigned char smem[];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    T* v;
    int64_t* id;
    if (gvals == nullptr) {
      id = reinterpret_cast<int64_t*>(smem);
      v = reinterpret_cast<T*>(smem + P * sizeof(int64_t));
    } else {
      v = gvals + blockIdx.x * P;
      id = gidx + blockIdx.x * P;
    }
    const int64_t o = row / inner, i = row % inner;
    const T* src = x + o * n * inner + i;
    for (int64_t r = threadIdx.x; r < P; r += blockDim.x) {
      v[r] = r < n ? src[r * inner] : T(0);
      id[r] = r < n ? r : -1;
    }
    __syncthreads();
    for (int64_t k = 2; k <= P; k <<= 1) {
      for (int64_t j = k >> 1; j > 0; j >>= 1) {
        for (int64_t a = threadIdx.x; a < P; a += blockDim.x) {
          const int64_t b = a ^ j;
          if (b <= a) continue;
          const bool up = (a & k) == 0;
          const bool swap = up ? before(v[b], id[b], v[a], id[a], desc) : before(v[a], id[a], v[b], id[b], desc);
          if (swap) {
            const T tv = v[a];
            v[a] = v[b];
            v[b] = tv;
            const int64_t ti = id[a];
            id[a] = id[b];
            id[b] = ti;
          }
        }
        __syncthreads();
      }
    }
    T* dv = values + o * keep * inner + i;
    int64_t* di = indices + o * keep * inner + i;
    for (int64_t r = threadIdx.x; r < keep; r += blockDim.x) {
      dv[r * inner] = v[r];
      di[r * inner] = id[r];
    }
    __syncthreads();  // the next row reuses the scratch
  }
}

template <class T>
void sort_rows(const Tensor& x_in, int axis, int64_t keep, bool desc, const Tensor& values, const Tensor& indices) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  const int64_t rows = s.outer * s.inner;
  if (rows == 0 || keep == 0) return;
  int64_t P = 1;
  while (P < s.n) P *= 2;
  const size_t row_bytes = size_t(P) * (sizeof(T) + sizeof(int64_t));
  const int threads = int(std::min<int64_t>(std::max<int64_t>(P / 2, 32), 1024));
  constexpr size_t kSharedLimit = 48 * 1024;
  if (row_bytes <= kSharedLimit) {
    const unsigned grid = unsigned(std::min<int64_t>(rows, 1 << 20));
    bitonic_rows<T><<<grid, threads, row_bytes, stream()>>>(ptr<const T>(x), ptr<T>(values), ptr<int64_t>(indices),
                                                            rows, s.n, s.inner, keep, P, desc, nullptr, nullptr);
  } else {
    const int64_t grid = std::min<int64_t>(rows, 1024);  // one scratch row per block
    const Tensor gv = Tensor::empty({grid * P}, x.dtype(), Device::cuda);
    const Tensor gi = Tensor::empty({grid * P}, DType::i64, Device::cuda);
    bitonic_rows<T><<<unsigned(grid), threads, 0, stream()>>>(ptr<const T>(x), ptr<T>(values), ptr<int64_t>(indices),
                                                              rows, s.n, s.inner, keep, P, desc, ptr<T>(gv),
                                                              ptr<int64_t>(gi));
  }
  GL_CUDA_LAUNCHED("sort");
}

}  // namespace

void sort(const Tensor& x, int axis, bool descending, const Tensor& values, const Tensor& indices) {
  dispatch_numeric(x.dtype(), "sort", [&](auto tag) {
    using T = decltype(tag);
    sort_rows<T>(x, axis, x.shape()[axis], descending, values, indices);
  });
}

void topk(const Tensor& x, int64_t k, int axis, bool largest, const Tensor& values, const Tensor& indices) {
  dispatch_numeric(x.dtype(), "topk", [&](auto tag) {
    using T = decltype(tag);
    sort_rows<T>(x, axis, k, largest, values, indices);
  });
}

}  // namespace gradlab::cuda
