// The device runtime of a build without CUDA (make CUDA=0, or no nvcc found):
// nothing is available, and asking for a CUDA tensor (or a CUDA graph) says
// how to get one.
#include "tensor/cuda/flash_attention.h"
#include "tensor/cuda/graph.h"
#include "tensor/cuda/tiled_gemm.h"
#include "tensor/device.h"
#include "tensor/error.h"

namespace gradlab {

namespace {
[[noreturn]] void no_cuda() {
  fail(
      "CUDA tensors need a CUDA build of gradlab: this one was built without CUDA "
      "(rebuild with `make CUDA=1` on a machine with nvcc)");
}
}  // namespace

bool cuda_built() { return false; }
bool cuda_available() { return false; }
std::string cuda_device_name() { return "none (built without CUDA)"; }
void* cuda_malloc(size_t) { no_cuda(); }
void cuda_free(void*) {}
void cuda_memcpy(void*, const void*, size_t, CopyKind) { no_cuda(); }
void cuda_synchronize() {}
void cuda_allow_tf32(bool) {}
bool cuda_tf32_allowed() { return false; }
void cuda_allow_bf16(bool) {}
bool cuda_bf16_allowed() { return false; }
namespace {
CudaAttentionKernel g_attention = CudaAttentionKernel::flash;  // remembered, though nothing reads it here
}
void cuda_set_attention_kernel(CudaAttentionKernel kernel) { g_attention = kernel; }
CudaAttentionKernel cuda_attention_kernel() { return g_attention; }
void cuda_tiled_gemm(const Tensor&, const Tensor&, const Tensor&) { no_cuda(); }

namespace cuda {
bool flash_attention_supported(const Tensor&, MmaPrecision) { return false; }
}  // namespace cuda

struct CudaGraph::Impl {};
CudaGraph::CudaGraph() = default;
CudaGraph::~CudaGraph() = default;
void CudaGraph::capture(const std::function<void()>&) { no_cuda(); }
void CudaGraph::replay() { no_cuda(); }
bool CudaGraph::captured() const { return false; }

}  // namespace gradlab
