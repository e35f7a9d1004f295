// bf16 products for a backend whose GEMM has none (the CPU and the reference
// loops): the bf16 operands are widened to f32, which is exact, the backend's
// f32 kernel multiplies them, and the result is rounded once to bf16. The
// products of two bf16 values are exact in f32, so this is the arithmetic of a
// bf16 tensor-core GEMM: exact products, f32 sums, one rounding at the end.
#pragma once

#include "tensor/tensor.h"

namespace gradlab {

// out (bf16) = kernel(inputs widened to f32 ..., f32 result); an undefined
// input (a missing bias) stays undefined.
template <class Kernel, class... Inputs>
void bf16_through_f32(Kernel kernel, const Tensor& out, const Inputs&... inputs) {
  auto widen = [](const Tensor& t) { return t.defined() ? t.to(DType::f32) : t; };
  const Tensor result = Tensor::empty(out.shape(), DType::f32, out.device());
  kernel(widen(inputs)..., result);
  Tensor(out).copy_(result);
}

}  // namespace gradlab
