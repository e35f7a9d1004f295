// Caching allocators. The CPU allocator hands out 64-byte aligned blocks and
// keeps freed blocks in size buckets (four per power of two, so at most 25%
// slack) for reuse: an op that returns a fresh tensor every step reuses warm,
// already-faulted pages instead of asking the kernel for new ones. Each thread
// keeps the blocks it frees for its own next requests (no lock shared with
// other threads on that path), with a shared pool behind them. Counters
// report bytes in use, their peak, and bytes held in the cache.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace gradlab {

struct MemoryStats {
  int64_t in_use_bytes = 0;  // handed out and not yet returned
  // maximum of in_use_bytes since the last reset: exact while one thread
  // allocates and frees; with several, the sum of each thread's own peak,
  // which bounds it from above
  int64_t peak_bytes = 0;
  int64_t cached_bytes = 0;  // returned, kept for reuse
  int64_t allocations = 0;   // blocks handed out
  int64_t cache_hits = 0;    // of which served from the cache
};

// Allocates nbytes (may be 0) on device; the block is at least 64-byte aligned.
void* device_alloc(Device device, size_t nbytes);
// Returns a block from device_alloc of the same size to its cache.
void device_free(Device device, void* ptr, size_t nbytes);

MemoryStats memory_stats(Device device = Device::cpu);
void reset_peak_memory(Device device = Device::cpu);
// Releases every cached block back to the system.
void empty_cache(Device device = Device::cpu);

// The bucket size a request of nbytes is rounded up to (exposed for tests).
size_t allocation_bucket(size_t nbytes);

}  // namespace gradlab
