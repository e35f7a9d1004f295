// The CUDA backend's precision and kernel switches (tensor/device.h,
// tensor/cuda/precision.h): bf16 tensor cores on or off, and flash or
// reference attention kernels, with GRADLAB_CUDA_ATTENTION read once as the
// default. TF32's switch stays with the runtime (tensor/cuda/runtime.cpp).
#include <cstdlib>
#include <cstring>
#include <string>

#include "tensor/cuda/error_slot.h"
#include "tensor/cuda/precision.h"
#include "tensor/device.h"
#include "tensor/error.h"

namespace gradlab {

namespace {
bool g_bf16 = false;

CudaAttentionKernel attention_from_environment() {
  const char* v = std::getenv("GRADLAB_CUDA_ATTENTION");
  if (v == nullptr || *v == '\0' || std::strcmp(v, "flash") == 0) return CudaAttentionKernel::flash;
  if (std::strcmp(v, "reference") == 0) return CudaAttentionKernel::reference;
  fail("GRADLAB_CUDA_ATTENTION: expected flash or reference, got '{}'", v);
}

CudaAttentionKernel& attention_choice() {
  static CudaAttentionKernel choice = attention_from_environment();
  return choice;
}
}  // namespace

void cuda_allow_bf16(bool on) { g_bf16 = on; }
bool cuda_bf16_allowed() { return g_bf16; }
void cuda_set_attention_kernel(CudaAttentionKernel kernel) { attention_choice() = kernel; }
CudaAttentionKernel cuda_attention_kernel() { return attention_choice(); }

namespace cuda {

MmaPrecision mma_precision() {
  if (g_bf16) return MmaPrecision::bf16;
  return tf32() ? MmaPrecision::tf32 : MmaPrecision::f32;
}

const char* precision_name(MmaPrecision p) {
  switch (p) {
    case MmaPrecision::f32: return "f32";
    case MmaPrecision::tf32: return "tf32";
    case MmaPrecision::bf16: return "bf16";
  }
  return "?";
}

bool flash_attention_enabled() { return attention_choice() == CudaAttentionKernel::flash; }

}  // namespace cuda
}  // namespace gradlab
