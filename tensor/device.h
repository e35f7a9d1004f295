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
// TF32 tensor cores for f32 GEMMs and the flash attention kernel (off by
// default: full f32, as on the CPU).
void cuda_allow_tf32(bool on);
bool cuda_tf32_allowed();
// bf16 tensor cores for f32 GEMMs and the flash attention kernel: operands are
// rounded to bf16 as they enter the tensor cores, products are summed in f32,
// and tensors stay f32 in memory (weights, activations, gradients, optimiser
// state). Off by default; when on, it takes precedence over TF32.
void cuda_allow_bf16(bool on);
bool cuda_bf16_allowed();
// Which kernels the CUDA attention ops run: the tiled flash kernels
// (tensor/cuda/flash_attention.cu; f32, head dimension up to 128, the rest
// falls back) or the scalar reference kernels (tensor/cuda/attention.cu).
// The default is flash, or what GRADLAB_CUDA_ATTENTION=flash|reference says.
enum class CudaAttentionKernel { flash, reference };
void cuda_set_attention_kernel(CudaAttentionKernel kernel);
CudaAttentionKernel cuda_attention_kernel();

}  // namespace gradlab
