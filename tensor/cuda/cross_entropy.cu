// CUDA fused cross-entropy over the rows of logits [N, C] with targets [N]
// (i64; negative = ignored); the CPU twin is tensor/cpu/cross_entropy.cpp.
// Forward: one block per row computes lse = max + log sum exp(x - max) (the
// sum in f64) and loss = lse - x[target]. Backward: dx = (exp(x - lse) -
// onehot) dloss, one thread per element. A target >= C is reported through the
// error slot and raised on the host at its next check (tensor/cuda/error_slot.h).
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

namespace {

template <class T>
__global__ void cross_entropy_rows(const T* x, const int64_t* target, int64_t n, int64_t C, T* loss, T* lse,
                                   IndexCheck check) {
  __shared__ T smax[32];
  __shared__ double ssum[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const T* xr = x + row * C;
    T m = MaxOp<T>::init();
    for (int64_t j = threadIdx.x; j < C; j += blockDim.x) m = fn::Maximum{}(m, xr[j]);
    m = block_reduce<MaxOp<T>>(m, smax);
    double z;
    if (isinf(m)) {  // an infinite max is the answer itself
      z = double(m);
      __syncthreads();
    } else {
      double s = 0;
      for (int64_t j = threadIdx.x; j < C; j += blockDim.x) s += double(fn::exp(xr[j] - m));
      z = double(m) + ::log(block_reduce<DoubleSum>(s, ssum));
    }
    if (threadIdx.x == 0) {
      const int64_t t = target[row];
      if (t >= C) report_bad_index(check, t, row);
      lse[row] = T(z);
      loss[row] = (t < 0 || t >= C) ? T(0) : T(z - double(xr[t]));
    }
  }
}

template <class T>
__global__ void cross_entropy_backward_kernel(const T* x, const int64_t* target, const T* lse, const T* dloss,
                                              int64_t n, int64_t C, T* dx) {
  const int64_t total = n * C, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += step) {
    const int64_t i = k / C, j = k % C, t = target[i];
    if (t < 0 || t >= C) {
      dx[k] = T(0);
      continue;
    }
    const T g = dloss[i];
    T v = fn::exp(x[k] - lse[i]) * g;
    if (j == t) v -= g;
    dx[k] = v;
  }
}

}  // namespace

void cross_entropy(const Tensor& logits_in, const Tensor& target_in, const Tensor& loss, const Tensor& lse) {
  const Tensor logits = logits_in.contiguous();
  const Tensor target = target_in.contiguous();
  const int64_t n = logits.size(0), C = logits.size(1);
  if (n == 0) return;
  const IndexCheck check = expect_check("cross_entropy", C, CheckKind::target);
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_rows<T>
        <<<unsigned(std::min<int64_t>(n, 1 << 20)), row_threads(std::min<int64_t>(C, 512)), 0, stream()>>>(
            ptr<const T>(logits), ptr<const int64_t>(target), n, C, ptr<T>(loss), ptr<T>(lse), check);
    GL_CUDA_LAUNCHED("cross_entropy");
  });
  after_checked_launch();
}

void cross_entropy_backward(const Tensor& logits_in, const Tensor& target_in, const Tensor& lse_in,
                            const Tensor& dloss_in, const Tensor& dlogits) {
  const Tensor logits = logits_in.contiguous();
  const Tensor target = target_in.contiguous();
  const Tensor lse = lse_in.contiguous();
  const Tensor dloss = dloss_in.contiguous();
  const int64_t n = logits.size(0), C = logits.size(1);
  if (n * C == 0) return;
  dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    cross_entropy_backward_kernel<T><<<blocks_for(n * C, kThreads), kThreads, 0, stream()>>>(
        ptr<const T>(logits), ptr<const int64_t>(target), ptr<const T>(lse), ptr<const T>(dloss), n, C,
        ptr<T>(dlogits));
    GL_CUDA_LAUNCHED("cross_entropy_backward");
  });
}

}  // namespace gradlab::cuda
