// CPU matmul over broadcast batch axes: one GEMM per batch entry, reading each
// operand through its strides (a transposed view costs no copy). Many small
// products run in parallel across the batch; large ones thread inside GEMM.
// bf16 operands go to the AVX512-BF16 GEMM (gemm_bf16.h) when the build has
// it, into an f32 result rounded once to bf16; otherwise they are widened to
// f32 for the f32 GEMM (bf16_through_f32.h). Both multiply exactly and sum in f32.
#include "tensor/bf16_through_f32.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

// Runs product(index, a_offset, b_offset) for every batch entry of out
// [B.., M, N], the offsets in elements of a and b; in parallel across the
// batch when the products are many and small.
template <class Product>
void for_each_product(const Tensor& a, const Tensor& b, const Tensor& out, Product product) {
  const int nd = out.dim();
  const int64_t M = a.shape()[nd - 2], K = a.shape()[nd - 1], N = b.shape()[nd - 1];
  int64_t batch = 1;
  for (int d = 0; d < nd - 2; ++d) batch *= out.shape()[d];
  auto one = [&](int64_t index) {
    int64_t oa = 0, ob = 0, rem = index;
    for (int d = nd - 3; d >= 0; --d) {
      const int64_t c = rem % out.shape()[d];
      rem /= out.shape()[d];
      oa += c * a.strides()[d];
      ob += c * b.strides()[d];
    }
    product(index, oa, ob);
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
}

// The matrix view of a batch entry's operand: the last two axes' strides.
template <class T>
MatrixView<T> matrix(const T* data, const Tensor& t) {
  const int nd = t.dim();
  return {data, t.strides()[nd - 2], t.strides()[nd - 1]};
}

const uint16_t* bf16_data(const Tensor& t) { return static_cast<const uint16_t*>(t.data_ptr()); }

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int nd = out.dim();
  const int64_t M = a.shape()[nd - 2], K = a.shape()[nd - 1], N = b.shape()[nd - 1];
  if (a.dtype() == DType::bf16) {
    if (!gemm_bf16_available()) return bf16_through_f32(matmul, out, a, b);
    const Tensor result = Tensor::empty(out.shape(), DType::f32, Device::cpu);
    float* pc = result.data<float>();
    for_each_product(a, b, out, [&](int64_t index, int64_t oa, int64_t ob) {
      gemm_bf16(M, N, K, matrix(bf16_data(a) + oa, a), matrix(bf16_data(b) + ob, b), pc + index * M * N, N);
    });
    Tensor(out).copy_(result);
    return;
  }
  dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(a.data_ptr());
    const T* pb = static_cast<const T*>(b.data_ptr());
    T* pc = out.data<T>();
    for_each_product(a, b, out, [&](int64_t index, int64_t oa, int64_t ob) {
      gemm<T>(M, N, K, matrix(pa + oa, a), matrix(pb + ob, b), pc + index * M * N, N, false);
    });
  });
}

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  const int64_t N = x.size(0), in = x.size(1), n_out = weight.size(0);
  if (x.dtype() == DType::bf16) {
    if (!gemm_bf16_available()) return bf16_through_f32(linear, out, x, weight, bias);
    const Tensor result = Tensor::empty(out.shape(), DType::f32, Device::cpu);
    const Tensor bias32 = bias.defined() ? bias.to(DType::f32) : bias;
    gemm_bf16(N, n_out, in, {bf16_data(x), x.stride(0), x.stride(1)},
              {bf16_data(weight), weight.stride(1), weight.stride(0)}, result.data<float>(), n_out,
              bias32.defined() ? bias32.data<float>() : nullptr);
    Tensor(out).copy_(result);
    return;
  }
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
