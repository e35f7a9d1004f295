// Reference matmul and linear: one reference GEMM (gemm.h, each output a dot
// product summed in double and rounded once) per batch entry, every operand
// read in place through its strides, so a transposed view needs no copy.
// (ref::gemm is named in full: its views are cpu::MatrixView, through which an
// unqualified call would also find the CPU's fast gemm.)
#include "tensor/ref/gemm.h"
#include "tensor/bf16_through_f32.h"
#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

// out [B.., M, N] = a [B.., M, K] @ b [B.., K, N]; out is the op's fresh
// contiguous tensor, so batch entry e is the M x N block at e * M * N.
void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (a.dtype() == DType::bf16) return bf16_through_f32(matmul, out, a, b);
  const int nd = out.dim();
  const int64_t M = out.shape()[nd - 2], N = out.shape()[nd - 1], K = a.shape()[nd - 1];
  const Shape batch(std::span<const int64_t>(out.shape().begin(), out.shape().end() - 2));
  dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    int64_t coords[kMaxDims] = {};  // of the batch entry; the two matrix axes stay 0
    for (int64_t e = 0; e < batch.numel(); ++e) {
      unravel(batch, e, coords);
      const cpu::MatrixView<T> A{&at_coords<T>(a, coords), a.stride(nd - 2), a.stride(nd - 1)};
      const cpu::MatrixView<T> B{&at_coords<T>(b, coords), b.stride(nd - 2), b.stride(nd - 1)};
      ref::gemm<T>(M, N, K, A, B, out.host_data<T>() + e * M * N, N, false);
    }
  });
}

// out [N, out] = x [N, in] weight^T (+ bias [out] on every row).
void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  if (x.dtype() == DType::bf16) return bf16_through_f32(linear, out, x, weight, bias);
  const int64_t N = x.size(0), in = x.size(1), n_out = weight.size(0);
  dispatch_float(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    const cpu::MatrixView<T> X{x.host_data<T>(), x.stride(0), x.stride(1)};
    const cpu::MatrixView<T> Wt{weight.host_data<T>(), weight.stride(1),
                                weight.stride(0)};  // weight^T: strides swapped
    ref::gemm<T>(N, n_out, in, X, Wt, out.host_data<T>(), n_out, false, bias.defined() ? bias.host_data<T>() : nullptr);
  });
}

}  // namespace gradlab::ref
