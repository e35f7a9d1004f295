// The reference entry of the backend registry: host memory of its own (64-byte
// aligned blocks; copies to and from the host are memcpy) and the plain-loop
// kernels of this folder, registered for Device::ref when the program starts
// (the library is linked whole, so this initialiser runs). A tensor moves here
// with x.to(Device::ref) or is made here with Tensor::empty(shape, dtype,
// Device::ref); every op on it then runs these kernels.
#include <cstdlib>
#include <cstring>

#include "tensor/ref/kernels.h"

namespace gradlab::ref {

namespace {
void* raw_alloc(size_t nbytes) { return std::aligned_alloc(64, nbytes); }  // nbytes: a whole bucket, 64 | nbytes
void raw_free(void* ptr) { std::free(ptr); }
void copy_bytes(void* dst, const void* src, size_t nbytes) { std::memcpy(dst, src, nbytes); }
void synchronize() {}  // every kernel has finished when it returns
}  // namespace

// One entry a line, as in tensor/cpu/backend.cpp.
// clang-format off
const Backend kBackend = {
    .name = "ref",
    .host_memory = true,
    .raw_alloc = raw_alloc,
    .raw_free = raw_free,
    .cache_limit = int64_t(1) << 30,
    .copy_to_host = copy_bytes,
    .copy_from_host = copy_bytes,
    .synchronize = synchronize,
    GL_KERNEL_TABLE()
};
// clang-format on

GL_REGISTER_BACKEND(Device::ref, kBackend);

}  // namespace gradlab::ref
