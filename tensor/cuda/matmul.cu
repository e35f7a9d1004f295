// CUDA matmul and linear through cuBLAS (column-major), for row-major gradlab
// tensors of any strides. A row-major C = A B is the column-major C^T = B^T A^T,
// so cuBLAS is called with the operands swapped. Each operand is passed in
// place when one of its two matrix axes has unit stride (a transposed view is
// just the other transpose flag); otherwise it is copied to contiguous first.
// Batch axes that collapse to one stride go to the strided-batched GEMM in one
// call. linear writes the bias into every row first and runs the GEMM with
// beta = 1, so the bias costs no extra pass over the output.
//
// Precision by dtype: f64 tensors use cublasDgemm. f32 GEMMs use full f32
// unless cuda_allow_tf32(true) (TF32 tensor cores) or cuda_allow_bf16(true)
// (cublasGemmEx with CUBLAS_COMPUTE_32F_FAST_16BF: f32 tensors, operands
// rounded to bf16 inside cuBLAS, f32 sums) (tensor/device.h). bf16 tensors
// (DType::bf16: operands, output and linear's bias all bf16) use cublasGemmEx
// with CUDA_R_16BF for A, B and C and CUBLAS_COMPUTE_32F: the bf16 products are
// exact, sums and alpha/beta are f32, and the result is rounded to bf16 once
// (after adding the bias, for linear); the switches above do not apply to them.
#include <vector>

#include "tensor/bf16.h"
#include "tensor/cuda/common.cuh"
#include "tensor/cuda/kernels.h"
#include "tensor/cuda/precision.h"

namespace gradlab::cuda {

namespace {

// How cuBLAS reads one [R, C] matrix with element strides (rs, cs): as the
// column-major [C, R] matrix (the transpose, op N in our swapped call) when
// rows are contiguous, or as the column-major [R, C] (op T) when columns are.
struct BlasOperand {
  bool ok = false;
  cublasOperation_t op = CUBLAS_OP_N;
  int64_t ld = 1;
};
BlasOperand blas_operand(int64_t R, int64_t C, int64_t rs, int64_t cs) {
  BlasOperand b;
  if (C == 1) cs = 1;  // a stride of a size-1 axis is free
  if (R == 1) rs = std::max<int64_t>(C, 1);
  if (cs == 1 && rs >= std::max<int64_t>(C, 1)) {
    b = {true, CUBLAS_OP_N, rs};
  } else {
    if (R == 1) rs = 1;
    if (rs == 1 && cs >= std::max<int64_t>(R, 1)) b = {true, CUBLAS_OP_T, cs};
  }
  return b;
}

// The single stride s with offset(batch index) = index * s over the batch
// axes [0, nd - 2) of t (axes of size 1 ignored), if there is one.
bool batch_stride(const Tensor& t, const Shape& batch_shape, int64_t& stride) {
  const int nb = batch_shape.size();
  stride = 0;
  int64_t expected = -1, span = 1;  // walking from the innermost batch axis
  for (int d = nb - 1; d >= 0; --d) {
    const int64_t size = batch_shape[d], s = t.strides()[d];
    if (size == 1) continue;
    if (expected < 0) {
      stride = s;
      expected = s * size;
      span = size;
      continue;
    }
    if (s != expected) return false;
    expected = s * size;
    span *= size;
  }
  (void)span;
  return true;
}

// The type of a GEMM's alpha and beta for elements of type T: T itself for
// f32 and f64, f32 for bf16 (whose GEMMs compute in f32).
template <class T>
using GemmScalar = std::conditional_t<std::is_same_v<T, bf16>, float, T>;

// Calls fn(T{}) with T the element type of a GEMM on dt: float, double, or
// gradlab::bf16 (its stored bits) for bf16; any other dtype is
// dispatch_float's clear error naming op.
template <class Fn>
void dispatch_gemm(DType dt, std::string_view op, Fn&& fn) {
  if (dt == DType::bf16)
    fn(bf16{});
  else
    dispatch_float(dt, op, fn);
}

template <class T>
void gemm_batched(cublasOperation_t opa, cublasOperation_t opb, int m, int n, int k, const T* A, int64_t lda,
                  int64_t sa, const T* B, int64_t ldb, int64_t sb, GemmScalar<T> beta, T* C, int64_t ldc, int64_t sc,
                  int64_t batch) {
  const GemmScalar<T> alpha = 1;
  cublasHandle_t h = cublas_handle();
  if constexpr (std::is_same_v<T, bf16>) {  // bf16 in memory, f32 sums, one rounding to bf16
    if (batch == 1)
      GL_CUBLAS_CHECK(cublasGemmEx(h, opa, opb, m, n, k, &alpha, A, CUDA_R_16BF, int(lda), B, CUDA_R_16BF, int(ldb),
                                   &beta, C, CUDA_R_16BF, int(ldc), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    else
      GL_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, opa, opb, m, n, k, &alpha, A, CUDA_R_16BF, int(lda), sa, B,
                                                 CUDA_R_16BF, int(ldb), sb, &beta, C, CUDA_R_16BF, int(ldc), sc,
                                                 int(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  } else if constexpr (std::is_same_v<T, float>) {
    if (mma_precision() == MmaPrecision::bf16) {  // f32 in memory, bf16 operands on the tensor cores, f32 sums
      if (batch == 1)
        GL_CUBLAS_CHECK(cublasGemmEx(h, opa, opb, m, n, k, &alpha, A, CUDA_R_32F, int(lda), B, CUDA_R_32F, int(ldb),
                                     &beta, C, CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F_FAST_16BF,
                                     CUBLAS_GEMM_DEFAULT));
      else
        GL_CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, opa, opb, m, n, k, &alpha, A, CUDA_R_32F, int(lda), sa, B,
                                                   CUDA_R_32F, int(ldb), sb, &beta, C, CUDA_R_32F, int(ldc), sc,
                                                   int(batch), CUBLAS_COMPUTE_32F_FAST_16BF, CUBLAS_GEMM_DEFAULT));
    } else if (batch == 1)
      GL_CUBLAS_CHECK(cublasSgemm(h, opa, opb, m, n, k, &alpha, A, int(lda), B, int(ldb), &beta, C, int(ldc)));
    else
      GL_CUBLAS_CHECK(cublasSgemmStridedBatched(h, opa, opb, m, n, k, &alpha, A, int(lda), sa, B, int(ldb), sb, &beta,
                                                C, int(ldc), sc, int(batch)));
  } else {
    if (batch == 1)
      GL_CUBLAS_CHECK(cublasDgemm(h, opa, opb, m, n, k, &alpha, A, int(lda), B, int(ldb), &beta, C, int(ldc)));
    else
      GL_CUBLAS_CHECK(cublasDgemmStridedBatched(h, opa, opb, m, n, k, &alpha, A, int(lda), sa, B, int(ldb), sb, &beta,
                                                C, int(ldc), sc, int(batch)));
  }
  GL_CUDA_LAUNCHED(batch == 1 ? "cublas gemm" : "cublas batched gemm");
}

// out [batch.., M, N] (contiguous) = (or +=, beta = 1) a [batch.., M, K] @ b [batch.., K, N].
template <class T>
void batched_matmul(Tensor a, Tensor b, const Tensor& out, GemmScalar<T> beta) {
  const int nd = out.dim();
  const int64_t M = out.shape()[nd - 2], N = out.shape()[nd - 1], K = a.shape()[nd - 1];
  Shape batch_shape;
  for (int d = 0; d < nd - 2; ++d) batch_shape.push_back(out.shape()[d]);
  const int64_t batch = batch_shape.numel();
  GL_CHECK(M < (int64_t(1) << 31) && N < (int64_t(1) << 31) && K < (int64_t(1) << 31),
           "matmul: sizes M {} N {} K {} exceed cuBLAS's 32-bit limit", M, N, K);
  if (K == 0) {
    if (beta == 0) fill(out, 0.0);
    return;
  }
  auto prepare = [&](Tensor& t, int64_t R, int64_t C, BlasOperand& op, int64_t& bstride) {
    op = blas_operand(R, C, t.strides()[nd - 2], t.strides()[nd - 1]);
    if (!op.ok || !batch_stride(t, batch_shape, bstride)) {
      t = t.contiguous();
      op = blas_operand(R, C, t.strides()[nd - 2], t.strides()[nd - 1]);
      batch_stride(t, batch_shape, bstride);
    }
  };
  BlasOperand oa, ob;
  int64_t sa = 0, sb = 0;
  prepare(a, M, K, oa, sa);
  prepare(b, K, N, ob, sb);
  GL_CHECK(oa.ok && ob.ok, "matmul: internal error: operands of shapes {} and {} are not BLAS-compatible", a.shape(),
           b.shape());
  // Column-major: C^T [N, M] = B^T [N, K] A^T [K, M].
  gemm_batched<T>(ob.op, oa.op, int(N), int(M), int(K), ptr<const T>(b), ob.ld, sb, ptr<const T>(a), oa.ld, sa, beta,
                  ptr<T>(out), std::max<int64_t>(N, 1), M * N, batch);
}

template <class T>
__global__ void broadcast_rows(const T* bias, T* out, int64_t rows, int64_t cols) {
  const int64_t total = rows * cols, step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) out[i] = bias[i % cols];
}

}  // namespace

void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_gemm(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    batched_matmul<T>(a, b, out, 0);
  });
}

void linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out) {
  const int64_t N = x.size(0), n_out = weight.size(0);
  dispatch_gemm(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);  // a bf16 bias is copied into the rows as its bits
    GemmScalar<T> beta = 0;
    if (bias.defined() && N * n_out > 0) {
      broadcast_rows<T>
          <<<blocks_for(N * n_out, kThreads), kThreads, 0, stream()>>>(ptr<const T>(bias), ptr<T>(out), N, n_out);
      GL_CUDA_LAUNCHED("linear bias");
      beta = 1;
    }
    // weight^T is weight read with its strides swapped: no copy.
    batched_matmul<T>(x, weight.transpose(0, 1), out, beta);
  });
}

}  // namespace gradlab::cuda
