// GEMM on bf16 operands with f32 results, for CPUs with AVX512-BF16 dot
// products (vdpbf16ps: each 32-bit lane adds the products of a pair of bf16
// values to an f32 accumulator, so an instruction does twice the multiply-adds
// of an f32 FMA). A and B are packed into pairs along K; see gemm_bf16.cpp.
// The products of two bf16 values are exact; the sums are f32, in pairs, with
// bf16 subnormal inputs read as zero (the instruction's rule), so a result can
// differ from an f32 GEMM on the widened operands by f32 rounding.
#pragma once

#include <cstdint>

#include "tensor/cpu/gemm.h"

namespace gradlab::cpu {

// Whether this build has the AVX512-BF16 kernel (compiled for a CPU with it).
bool gemm_bf16_available();

// C [M, N] (row-major, row stride ldc) = A [M, K] B [K, N] (+ bias [N] on every
// row), A and B bf16 bits given by element strides. Requires
// gemm_bf16_available(). Threads over column panels when the product is large
// enough, unless called from inside a parallel region.
void gemm_bf16(int64_t M, int64_t N, int64_t K, MatrixView<uint16_t> A, MatrixView<uint16_t> B, float* C,
               int64_t ldc, const float* bias = nullptr);

}  // namespace gradlab::cpu
