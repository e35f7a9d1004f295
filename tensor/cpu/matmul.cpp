// CPU matmul over broadcast batch axes: one GEMM per batch entry, reading each
// operand through its strides (a transposed view costs no copy). Many small
// products run in parallel across the batch; large ones thread inside GEMM.
#include "tensor/cpu/gemm.h"
#include "tensor/bf16_through_f32.h"
#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (a.dtype() == DType::bf16) return bf16_through_f32(matmul, out, a, b);
  const int nd = out.dim();
  const int64_t M = a.shape()[nd - 2], K = a.shape()[nd - 1], N = b.shape()[nd - 1];
  int64_t batch = 1;
  for (int d = 0; d < nd - 2; ++d) batch *= out.shape()[d];
  dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.data_ptr());
    const T* pb = static_cast<const T*>(b.data_ptr());
    T* pc = out.data<T>();
    auto one = [&](int64_t index) {
      int64_t oa = 0, ob = 0, rem = index;
      for (int d = nd - 3; d >= 0; --d) {
        const int64_t c = rem % out.shape()[d];
        rem /= out.shape()[d];
        oa += c * a.strides()[d];
        ob += c * b.strides()[d];
      }
      gemm<T>(M, N, K, {pa + oa, a.strides()[nd - 2], a.strides()[nd - 1]},
              {pb + ob, b.strides()[nd - 2], b.strides()[nd - 1]}, pc + index * M * N, N, false);
    };
    const double flops = 2.0 * double(M) * double(N) * double(K);
    if (batch > 1 && flops < 4e6) {
      const int64_t grain = std::max<int64_t>(1, int64_t(2e5 / std::max(flops, 1.0)));
      parallel_for(batch, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) one(i);
      });
    } else {
      for (int64_t i = 0; i < batch; ++i) one(i);
    }
  });
}

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  if (x.dtype() == DType::bf16) return bf16_through_f32(linear, out, x, weight, bias);
  const int64_t N = x.size(0), in = x.size(1), n_out = weight.size(0);
  dispatch_float(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.data_ptr());
    const T* pw = static_cast<const T*>(weight.data_ptr());
    // weight^T is weight read with its strides swapped: no copy.
    gemm<T>(N, n_out, in, {px, x.stride(0), x.stride(1)}, {pw, weight.stride(1), weight.stride(0)}, out.data<T>(),
            n_out, false, bias.defined() ? bias.data<T>() : nullptr);
  });
}

}  // namespace gradlab::cpu
