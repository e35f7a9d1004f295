// The device runtime of a CUDA build: checked cudaMalloc, cudaFree and
// cudaMemcpy on the default stream. Host code only, so g++ compiles it against
// the CUDA runtime headers. Every CUDA call is checked; a failure raises
// gradlab::Error with the file, line and CUDA's error string. The CUDA kernels
// themselves (.cu files, built by nvcc) register their table with the backend.
#include <cuda_runtime.h>

#include "tensor/device.h"
#include "tensor/error.h"

#define GL_CUDA_CHECK(call)                                                                                 \
  do {                                                                                                      \
    cudaError_t err_ = (call);                                                                              \
    if (err_ != cudaSuccess)                                                                                \
      ::gradlab::fail("CUDA error at {}:{}: {} ({})", __FILE__, __LINE__, cudaGetErrorString(err_), #call); \
  } while (0)

namespace gradlab {

bool cuda_built() { return true; }

bool cuda_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return false;
  }
  return count > 0;
}

std::string cuda_device_name() {
  if (!cuda_available()) return "none (no GPU found)";
  cudaDeviceProp prop{};
  GL_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

void* cuda_malloc(size_t nbytes) {
  GL_CHECK(cuda_available(), "CUDA tensor requested, but no GPU is present on this machine");
  void* ptr = nullptr;
  GL_CUDA_CHECK(cudaMalloc(&ptr, nbytes));
  return ptr;
}

void cuda_free(void* ptr) { GL_CUDA_CHECK(cudaFree(ptr)); }

void cuda_memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind) {
  const cudaMemcpyKind k = kind == CopyKind::host_to_device   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::device_to_host ? cudaMemcpyDeviceToHost
                                                              : cudaMemcpyDeviceToDevice;
  GL_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, k));
}

}  // namespace gradlab
