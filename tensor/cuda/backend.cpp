// The CUDA entry of the backend registry, registered when the program starts
// (the library is linked whole, so this initialiser runs): device memory through
// the runtime of tensor/device.h, and the kernels of this folder.
#include "tensor/cuda/error_slot.h"
#include "tensor/cuda/kernels.h"
#include "tensor/device.h"

namespace gradlab::cuda {

namespace {
// The copy waits for every queued kernel, so the deferred index checks are
// read with it (one more small copy, no further wait).
void to_host(void* host_dst, const void* src, size_t nbytes) {
  cuda_memcpy(host_dst, src, nbytes, CopyKind::device_to_host);
  check_errors_after_sync();
}
void from_host(void* dst, const void* host_src, size_t nbytes) {
  cuda_memcpy(dst, host_src, nbytes, CopyKind::host_to_device);
}
}  // namespace

const Backend kBackend = {
    .name = "cuda",
    .host_memory = false,
    .raw_alloc = cuda_malloc,
    .raw_free = cuda_free,
    .cache_limit = int64_t(8) << 30,
    .copy_to_host = to_host,
    .copy_from_host = from_host,
    .synchronize = cuda_synchronize,
    .available = cuda_available,
    .check_errors = check_errors,
    GL_KERNEL_TABLE()
};

GL_REGISTER_BACKEND(Device::cuda, kBackend);

}  // namespace gradlab::cuda
