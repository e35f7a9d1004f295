// The caching allocators behind every Storage: one per device, over that
// device's raw allocation from its backend table, sharing the bucket logic.
// Freed blocks wait in per-bucket free lists for the next request of the same
// bucket.
//
// Each thread keeps its own free lists, so that threads running side by side
// (an experiment's runs, one per worker) take and return blocks without
// waiting on each other or passing counters between their cores: a block goes
// back to the lists of the thread that frees it, and each thread counts its
// own requests. A thread's lists have a lock of their own, which another
// thread takes only to read the counts (memory_stats) or to empty them
// (empty_cache, and the out-of-memory path). A request its own lists cannot
// serve looks in a shared pool, which holds the blocks of threads that have
// exited and what a thread's lists had no room for. A thread's lists keep at
// most half the device's cache limit and the shared pool at most all of it;
// a block with no room is freed. The bytes in use are summed over the
// threads' own counts when asked for; their peak is exact while one thread
// allocates and frees, and an upper bound otherwise (see Usage).
#include "tensor/allocator.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>
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

// Every bucket has a slot: four per power of two (the bucket's own power k and
// its quarter above 2^k), so a free list is found by arithmetic, not a lookup.
constexpr int kBucketSlots = 4 * 64;
int bucket_slot(size_t bucket) {
  const int k = std::bit_width(bucket) - 1;
  const size_t top = size_t(1) << k;
  const size_t step = std::max<size_t>(top / 4, 64);
  return 4 * k + int((bucket - top) / step);
}

// Free blocks by bucket slot, and the bytes they hold.
struct FreeLists {
  std::array<std::vector<void*>, kBucketSlots> blocks;
  int64_t bytes = 0;

  void* pop(int slot, size_t bucket) {
    std::vector<void*>& list = blocks[size_t(slot)];
    if (list.empty()) return nullptr;
    void* p = list.back();
    list.pop_back();
    bytes -= int64_t(bucket);
    return p;
  }
  void push(int slot, size_t bucket, void* p) {
    blocks[size_t(slot)].push_back(p);
    bytes += int64_t(bucket);
  }
};

// Bytes in use as one thread sees them: those it allocated less those it
// freed (negative for a thread that frees what others allocated), and the
// most that count reached. The sum over threads is the bytes in use; the sum
// of the peaks bounds the peak from above, and is the peak itself when one
// thread allocates and frees.
struct Usage {
  int64_t in_use = 0, peak = 0;
  void add(int64_t bytes) {
    in_use += bytes;
    peak = std::max(peak, in_use);
  }
};

// The lock of one thread's lists: its thread takes it on every call and
// another thread only to read or empty them, so it is nearly always free and
// taking it is one exchange. A thread that finds it held yields until it is not.
class ListLock {
 public:
  void lock() {
    while (locked_.exchange(true, std::memory_order_acquire))
      while (locked_.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  void unlock() { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

// One thread's free lists for one device, its counts of requests, its usage.
struct ThreadCache {
  ListLock mutex;
  FreeLists lists;
  int64_t allocations = 0, cache_hits = 0;
  Usage usage;
};

class CachingAllocator {
 public:
  using RawAlloc = void* (*)(size_t);
  using RawFree = void (*)(void*);

  CachingAllocator(RawAlloc raw_alloc, RawFree raw_free, int64_t cache_limit)
      : raw_alloc_(raw_alloc), raw_free_(raw_free), cache_limit_(cache_limit) {}

  // `local` is the calling thread's cache for this device, or null (a thread
  // whose caches are gone: it is exiting).
  void* allocate(size_t nbytes, ThreadCache* local) {
    const size_t bucket = allocation_bucket(nbytes);
    const int slot = bucket_slot(bucket);
    if (local != nullptr) {  // the fast path: this thread's own lists
      std::lock_guard<ListLock> lock(local->mutex);
      ++local->allocations;
      if (void* ptr = local->lists.pop(slot, bucket)) {
        ++local->cache_hits;
        local->usage.add(int64_t(bucket));
        return ptr;
      }
    }
    void* ptr = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (local == nullptr) ++allocations_;
      ptr = shared_.pop(slot, bucket);
      if (ptr != nullptr) ++cache_hits_;
    }
    if (ptr == nullptr) {
      ptr = raw_alloc_(bucket);
      if (ptr == nullptr) {  // out of memory: give every cached block back and retry once
        release_all();
        ptr = raw_alloc_(bucket);
      }
      GL_CHECK(ptr != nullptr, "allocator: out of memory allocating {} bytes", bucket);
    }
    if (local != nullptr) {
      std::lock_guard<ListLock> lock(local->mutex);
      local->usage.add(int64_t(bucket));
    } else {
      std::lock_guard<std::mutex> lock(mutex_);
      usage_.add(int64_t(bucket));
    }
    return ptr;
  }

  void deallocate(void* ptr, size_t nbytes, ThreadCache* local) {
    if (ptr == nullptr) return;
    const size_t bucket = allocation_bucket(nbytes);
    const int slot = bucket_slot(bucket);
    if (local != nullptr) {
      std::lock_guard<ListLock> lock(local->mutex);
      local->usage.add(-int64_t(bucket));
      if (local->lists.bytes + int64_t(bucket) <= cache_limit_ / 2) {
        local->lists.push(slot, bucket, ptr);
        return;
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (local == nullptr) usage_.add(-int64_t(bucket));
      if (shared_.bytes + int64_t(bucket) <= cache_limit_) {
        shared_.push(slot, bucket, ptr);
        return;
      }
    }
    raw_free_(ptr);
  }

  MemoryStats stats() {
    MemoryStats s;
    std::lock_guard<std::mutex> lock(mutex_);
    s.in_use_bytes = usage_.in_use;
    s.peak_bytes = usage_.peak;
    s.cached_bytes = shared_.bytes;
    s.allocations = allocations_;
    s.cache_hits = cache_hits_;
    for (ThreadCache* t : threads_) {
      std::lock_guard<ListLock> thread_lock(t->mutex);
      s.in_use_bytes += t->usage.in_use;
      s.peak_bytes += t->usage.peak;
      s.cached_bytes += t->lists.bytes;
      s.allocations += t->allocations;
      s.cache_hits += t->cache_hits;
    }
    return s;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    usage_.peak = usage_.in_use;
    for (ThreadCache* t : threads_) {
      std::lock_guard<ListLock> thread_lock(t->mutex);
      t->usage.peak = t->usage.in_use;
    }
  }

  // Frees every cached block: the shared pool's and every thread's.
  void release_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    release(shared_);
    for (ThreadCache* t : threads_) {
      std::lock_guard<ListLock> thread_lock(t->mutex);
      release(t->lists);
    }
  }

  // A thread's first call: its cache, registered so that stats and release_all reach it.
  ThreadCache* join() {
    auto* t = new ThreadCache;
    std::lock_guard<std::mutex> lock(mutex_);
    threads_.push_back(t);
    return t;
  }
  // A thread's exit: its blocks move to the shared pool, its counts to the allocator's.
  void leave(ThreadCache* t) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads_.erase(std::find(threads_.begin(), threads_.end(), t));
      std::lock_guard<ListLock> thread_lock(t->mutex);
      for (int slot = 0; slot < kBucketSlots; ++slot) {
        std::vector<void*>& from = t->lists.blocks[size_t(slot)];
        std::vector<void*>& to = shared_.blocks[size_t(slot)];
        to.insert(to.end(), from.begin(), from.end());
      }
      shared_.bytes += t->lists.bytes;
      allocations_ += t->allocations;
      cache_hits_ += t->cache_hits;
      // its peak stays counted until the next reset (peak >= in_use holds for the sum)
      usage_.in_use += t->usage.in_use;
      usage_.peak += t->usage.peak;
    }
    delete t;
  }

 private:
  void release(FreeLists& lists) {
    for (std::vector<void*>& list : lists.blocks) {
      for (void* p : list) raw_free_(p);
      list.clear();
    }
    lists.bytes = 0;
  }

  RawAlloc raw_alloc_;
  RawFree raw_free_;
  int64_t cache_limit_;
  std::mutex mutex_;  // guards everything below
  FreeLists shared_;
  std::vector<ThreadCache*> threads_;
  // The counts of threads that have exited and of calls from exiting threads.
  int64_t allocations_ = 0, cache_hits_ = 0;
  Usage usage_;
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

// The calling thread's caches, one per device, made on first use and handed
// back when the thread exits. The pointers are plain thread-local data (read
// without a guard on every call); the first cache a thread makes also makes
// its Reaper, whose destructor hands them back at exit. After that (a tensor
// freed by a later thread_local destructor) every call goes to the shared pool.
thread_local std::array<ThreadCache*, kDeviceCount> thread_caches{};
thread_local bool exited = false;
struct Reaper {
  ~Reaper() {
    exited = true;
    for (int d = 0; d < kDeviceCount; ++d)
      if (ThreadCache* c = std::exchange(thread_caches[size_t(d)], nullptr)) allocator_for(Device(d)).leave(c);
  }
};

ThreadCache* local_cache(Device device, CachingAllocator& a) {
  ThreadCache*& c = thread_caches[size_t(device)];
  if (c != nullptr || exited) return c;
  static thread_local Reaper reaper;  // made here, once per thread
  (void)reaper;
  c = a.join();
  return c;
}

}  // namespace

void* device_alloc(Device device, size_t nbytes) {
  CachingAllocator& a = allocator_for(device);
  return a.allocate(nbytes, local_cache(device, a));
}
void device_free(Device device, void* ptr, size_t nbytes) {
  CachingAllocator& a = allocator_for(device);
  a.deallocate(ptr, nbytes, local_cache(device, a));
}
MemoryStats memory_stats(Device device) { return allocator_for(device).stats(); }
void reset_peak_memory(Device device) { allocator_for(device).reset_peak(); }
void empty_cache(Device device) { allocator_for(device).release_all(); }

}  // namespace gradlab
