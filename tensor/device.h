// The device runtime beneath the allocator: raw allocation and byte copies on
// the GPU. The CUDA build implements it in tensor/cuda/runtime.cpp; the CPU-only
// build in tensor/cuda/no_cuda.cpp, where cuda_available() is false and every
// other call throws a clear "built without CUDA" error.
#pragma once

#include <cstddef>
#include <string>

namespace gradlab {

bool cuda_built();      // this binary contains the CUDA backend
bool cuda_available();  // ... and a GPU is present
std::string cuda_device_name();
void* cuda_malloc(size_t nbytes);
void cuda_free(void* ptr);
enum class CopyKind { host_to_device, device_to_host, device_to_device };
void cuda_memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind);
// Waits for every queued kernel (timings, and to surface asynchronous errors).
void cuda_synchronize();
// TF32 tensor cores for f32 GEMMs (off by default: full f32, as on the CPU).
void cuda_allow_tf32(bool on);
bool cuda_tf32_allowed();

}  // namespace gradlab
