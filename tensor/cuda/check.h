// Checked CUDA and cuBLAS calls, the one stream every kernel runs on, and the
// cuBLAS handle. GL_CUDA_CHECK(call) raises gradlab::Error with the file, the
// line, CUDA's error string and the call's text; GL_CUDA_LAUNCHED() checks a
// kernel launch (and, with GRADLAB_CUDA_SYNC=1 in the environment, waits for
// the kernel so that a fault is reported at the launch that caused it; with
// GRADLAB_CUDA_PROFILE=1, waits too and adds up the time per kernel name).
// Host code only: included by the .cu files and by the g++-compiled runtime.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

namespace gradlab::cuda {

[[noreturn]] void raise_cuda_error(cudaError_t err, const char* file, int line, const char* call);
[[noreturn]] void raise_cublas_error(cublasStatus_t status, const char* file, int line, const char* call);
// Called after each launch: cudaGetLastError, and a synchronise in debug mode.
void check_launch(const char* file, int line, const char* kernel);

// The stream every gradlab kernel, copy and cuBLAS call is issued on: the
// legacy default stream, so that kernels, copies and frees are ordered; while
// a CudaGraph records a step (tensor/cuda/graph.h), its capture stream.
extern cudaStream_t g_capture_stream;  // null unless a capture is under way
inline cudaStream_t stream() { return g_capture_stream; }
inline bool capturing() { return g_capture_stream != nullptr; }
// Blocks the caching allocator released while a capture was under way: the
// graph may use them, so the CudaGraph frees them when it is destroyed.
extern std::vector<void*> g_frees_after_capture;
// The process's cuBLAS handle, created on first use, bound to stream().
cublasHandle_t cublas_handle();

// Blocks of `threads` covering n work items, capped so the grid stays legal
// (kernels use grid-stride loops).
inline unsigned blocks_for(int64_t n, int threads) {
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > (int64_t(1) << 20) ? (int64_t(1) << 20) : b));
}

}  // namespace gradlab::cuda

#define GL_CUDA_CHECK(call)                                                                            \
  do {                                                                                                 \
    const cudaError_t gl_err_ = (call);                                                                \
    if (gl_err_ != cudaSuccess) ::gradlab::cuda::raise_cuda_error(gl_err_, __FILE__, __LINE__, #call); \
  } while (0)

#define GL_CUBLAS_CHECK(call)                                                     \
  do {                                                                            \
    const cublasStatus_t gl_status_ = (call);                                     \
    if (gl_status_ != CUBLAS_STATUS_SUCCESS)                                      \
      ::gradlab::cuda::raise_cublas_error(gl_status_, __FILE__, __LINE__, #call); \
  } while (0)

// After `kernel<<<...>>>(...)`: GL_CUDA_LAUNCHED("kernel name").
#define GL_CUDA_LAUNCHED(name) ::gradlab::cuda::check_launch(__FILE__, __LINE__, name)
