// CUDA fused Adam(W) step (the CPU twin is tensor/cpu/optim.cpp): every
// parameter of the list, with its gradient and moments, updated by one kernel
// launch per dtype. The host packs each tensor's pointers and its start in the
// concatenated element range into a small table that is copied to the device;
// each thread finds its tensor by binary search over the starts. The formulas
// are those of tensor/optim_kernels.h, in the parameter's element type.
#include <cmath>
#include <vector>

#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

namespace {

struct Segment {
  int64_t start, numel;
  void *p, *m, *v;
  const void* g;
};

template <class T>
__global__ void adam_kernel(const Segment* segments, int count, int64_t total, AdamCoefficients<T> k) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += step) {
    int lo = 0, hi = count - 1;  // the last segment starting at or before e
    while (lo < hi) {
      const int mid = (lo + hi + 1) / 2;
      if (segments[mid].start <= e)
        lo = mid;
      else
        hi = mid - 1;
    }
    const Segment& s = segments[lo];
    const int64_t i = e - s.start;
    adam_update(static_cast<T*>(s.p)[i], static_cast<T*>(s.m)[i], static_cast<T*>(s.v)[i],
                static_cast<const T*>(s.g)[i], k);
  }
}

template <class T>
void adam_list(const std::vector<Segment>& segments, int64_t total, const AdamHyperparams& h) {
  if (segments.empty()) return;
  const size_t bytes = segments.size() * sizeof(Segment);
  const Tensor table = Tensor::empty({int64_t(bytes)}, DType::b8, Device::cuda);
  GL_CUDA_CHECK(cudaMemcpyAsync(table.data_ptr(), segments.data(), bytes, cudaMemcpyHostToDevice, stream()));
  adam_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, stream()>>>(
      static_cast<const Segment*>(table.data_ptr()), int(segments.size()), total, adam_coefficients<T>(h));
  // The copy from pageable memory has staged `segments` before returning; the
  // table's device block goes back to the cache, and any later use of it is
  // ordered after this kernel on the one stream.
  GL_CUDA_LAUNCHED("adam_step");
}

}  // namespace

void adam_step(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
               std::span<const Tensor> v, const AdamHyperparams& h) {
  std::vector<Segment> f32, f64;
  int64_t total32 = 0, total64 = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const int64_t n = params[i].numel();
    if (n == 0) continue;
    const bool is64 = params[i].dtype() == DType::f64;
    GL_CHECK(params[i].dtype() == DType::f32 || is64, "adam_step: params[{}] has dtype {}, expected f32 or f64", i,
             params[i].dtype());
    int64_t& total = is64 ? total64 : total32;
    (is64 ? f64 : f32)
        .push_back({total, n, params[i].data_ptr(), m[i].data_ptr(), v[i].data_ptr(), grads[i].data_ptr()});
    total += n;
  }
  adam_list<float>(f32, total32, h);
  adam_list<double>(f64, total64, h);
}

}  // namespace gradlab::cuda
