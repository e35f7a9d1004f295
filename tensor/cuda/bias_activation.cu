// CUDA bias_activation in one launch: z = x + bias, y = op(z) and, for silu,
// s = sigmoid(z), each thread one element; and the backward, which for silu
// reads the kept sigmoid instead of computing an exp and a division again.
// Every value comes from the functors the separate add, op and op backward
// use (tensor/functors.h), in the same order, so the bits are those of the
// passes (tensor/bias_activation_passes.h) that a small network's layer used
// to queue as two or three launches.
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/elementwise_visit.h"

namespace gradlab::cuda {

namespace {

// y (and z, s when kept) are contiguous; x and bias are read through L, whose
// first operand is y.
template <class T, bool kZ, bool kS, class F>
__global__ void bias_activation_kernel(Indexer<3> L, int64_t n, T* y, T* z, T* s, const T* x, const T* bias, F f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    T xv, bv;
    if (L.contiguous) {
      xv = x[i], bv = bias[i];
    } else {
      int64_t o[3];
      L.offsets(i, o);
      xv = x[o[1]], bv = bias[o[2]];
    }
    const T zv = fn::Add{}(xv, bv);
    if constexpr (kS) {  // silu as z * sigmoid(z), keeping the sigmoid
      const T sv = fn::sigmoid(zv);
      y[i] = zv * sv;
      s[i] = sv;
    } else {
      y[i] = f(zv);
    }
    if constexpr (kZ) z[i] = zv;
  }
}

// dz = silu'(z) dy from z and the kept s = sigmoid(z); all contiguous.
template <class T>
__global__ void silu_backward_kernel(int64_t n, T* dz, const T* z, const T* s, const T* dy) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    dz[i] = fn::silu_grad(z[i], s[i], dy[i]);
}

template <class T, bool kZ, bool kS, class F>
void launch(const Tensor& x, const Tensor& bias, const Tensor& z, const Tensor& y, const Tensor& s, F f) {
  const int64_t n = y.numel();
  const Indexer<3> L = make_indexer<3>({&y, &x, &bias});
  bias_activation_kernel<T, kZ, kS><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(
      L, n, ptr<T>(y), kZ ? ptr<T>(z) : nullptr, kS ? ptr<T>(s) : nullptr, ptr<const T>(x), ptr<const T>(bias), f);
  GL_CUDA_LAUNCHED("bias_activation");
}

}  // namespace

void bias_activation(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& bias, const Tensor& z,
                     const Tensor& y, const Tensor& s) {
  if (y.numel() == 0) return;
  GL_CHECK(y.is_contiguous() && (!z.defined() || z.is_contiguous()) && (!s.defined() || s.is_contiguous()),
           "bias_activation: y, z and s must be contiguous");
  dispatch_float(x.dtype(), "bias_activation", [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_unary<T>(op, params, [&](auto f, ElementCost) {
      if (!z.defined())
        launch<T, false, false>(x, bias, z, y, s, f);
      else if constexpr (std::is_same_v<decltype(f), fn::Silu>)
        s.defined() ? launch<T, true, true>(x, bias, z, y, s, f) : launch<T, true, false>(x, bias, z, y, s, f);
      else
        launch<T, true, false>(x, bias, z, y, s, f);
    });
    if (!defined) fail("bias_activation: {} is not defined for dtype {}", op_name(op), x.dtype());
  });
}

void bias_activation_backward(UnaryOp op, UnaryParams params, const Tensor& z, const Tensor& y, const Tensor& s,
                              const Tensor& dy, const Tensor& dz) {
  if (op != UnaryOp::silu || !s.defined() || !dy.is_contiguous() || !dz.is_contiguous() || !z.is_contiguous() ||
      !s.is_contiguous())
    return unary_backward(op, params, z, y, dy, dz);
  const int64_t n = dz.numel();
  if (n == 0) return;
  dispatch_float(z.dtype(), "bias_activation backward", [&](auto tag) {
    using T = decltype(tag);
    silu_backward_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream()>>>(n, ptr<T>(dz), ptr<const T>(z),
                                                                                 ptr<const T>(s), ptr<const T>(dy));
    GL_CUDA_LAUNCHED("bias_activation backward");
  });
}

}  // namespace gradlab::cuda
