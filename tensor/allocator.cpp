// The caching allocators behind every Storage: one per device, over that
// device's raw allocation from its backend table, sharing the bucket logic. Freed blocks wait in per-bucket free lists for the next request
// of the same bucket; the cache is trimmed when it would exceed its limit.
#include "tensor/allocator.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "tensor/backend.h"

namespace gradlab {

size_t allocation_bucket(size_t nbytes) {
  if (nbytes <= 64) return 64;
  // Four buckets per power of two: round up to a multiple of 2^(k-2) where
  // 2^k is the largest power of two <= nbytes; never finer than the alignment.
  const size_t top = std::bit_floor(nbytes);
  const size_t step = std::max<size_t>(top / 4, 64);
  return (nbytes + step - 1) / step * step;
}

namespace {

class CachingAllocator {
 public:
  using RawAlloc = void* (*)(size_t);
  using RawFree = void (*)(void*);

  CachingAllocator(RawAlloc raw_alloc, RawFree raw_free, int64_t cache_limit)
      : raw_alloc_(raw_alloc), raw_free_(raw_free), cache_limit_(cache_limit) {}

  void* allocate(size_t nbytes) {
    const size_t bucket = allocation_bucket(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.allocations;
    void* ptr = nullptr;
    auto it = free_.find(bucket);
    if (it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      stats_.cached_bytes -= int64_t(bucket);
      ++stats_.cache_hits;
    } else {
      ptr = raw_alloc_(bucket);
      if (ptr == nullptr) {  // out of memory: give the cache back and retry once
        release_all_locked();
        ptr = raw_alloc_(bucket);
      }
      GL_CHECK(ptr != nullptr, "allocator: out of memory allocating {} bytes", bucket);
    }
    stats_.in_use_bytes += int64_t(bucket);
    if (stats_.in_use_bytes > stats_.peak_bytes) stats_.peak_bytes = stats_.in_use_bytes;
    return ptr;
  }

  void deallocate(void* ptr, size_t nbytes) {
    if (ptr == nullptr) return;
    const size_t bucket = allocation_bucket(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.in_use_bytes -= int64_t(bucket);
    if (stats_.cached_bytes + int64_t(bucket) > cache_limit_) {
      raw_free_(ptr);
      return;
    }
    free_[bucket].push_back(ptr);
    stats_.cached_bytes += int64_t(bucket);
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_bytes = stats_.in_use_bytes;
  }
  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_all_locked();
  }

 private:
  void release_all_locked() {
    for (auto& [bucket, blocks] : free_)
      for (void* p : blocks) raw_free_(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  RawAlloc raw_alloc_;
  RawFree raw_free_;
  int64_t cache_limit_;
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  MemoryStats stats_;
};

// One allocator a device, over the raw allocation of its backend table (tensor/backend.h).
// Leaked on purpose: tensors held in static objects may be freed after main
// returns, when a destroyed allocator could no longer take them back.
CachingAllocator& allocator_for(Device device) {
  static std::atomic<CachingAllocator*> allocators[kDeviceCount] = {};
  static std::mutex creating;
  CachingAllocator* a = allocators[int(device)].load(std::memory_order_acquire);
  if (a != nullptr) return *a;
  const Backend& be = backend(device);  // a clear error for a device that is not there
  std::lock_guard<std::mutex> lock(creating);
  a = allocators[int(device)].load(std::memory_order_relaxed);
  if (a == nullptr) {
    a = new CachingAllocator(be.raw_alloc, be.raw_free, be.cache_limit);
    allocators[int(device)].store(a, std::memory_order_release);
  }
  return *a;
}

}  // namespace

void* device_alloc(Device device, size_t nbytes) { return allocator_for(device).allocate(nbytes); }
void device_free(Device device, void* ptr, size_t nbytes) { allocator_for(device).deallocate(ptr, nbytes); }
MemoryStats memory_stats(Device device) { return allocator_for(device).stats(); }
void reset_peak_memory(Device device) { allocator_for(device).reset_peak(); }
void empty_cache(Device device) { allocator_for(device).release_all(); }

}  // namespace gradlab
