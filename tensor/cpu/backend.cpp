// The CPU entry of the backend registry: host memory from the caching
// allocator's aligned blocks, and the optimised kernels of this folder.
#include <cstdlib>
#include <cstring>

#include "tensor/cpu/kernels.h"

namespace gradlab::cpu {

namespace {
void* raw_alloc(size_t nbytes) { return std::aligned_alloc(64, nbytes); }
void raw_free(void* ptr) { std::free(ptr); }
void copy_bytes(void* dst, const void* src, size_t nbytes) { std::memcpy(dst, src, nbytes); }
void synchronize() {}
}  // namespace

const Backend kBackend = {
    .name = "cpu",
    .host_memory = true,
    .raw_alloc = raw_alloc,
    .raw_free = raw_free,
    .cache_limit = int64_t(2) << 30,
    .copy_to_host = copy_bytes,
    .copy_from_host = copy_bytes,
    .synchronize = synchronize,
    GL_KERNEL_TABLE()
};

}  // namespace gradlab::cpu
