// The caching allocator: bucket sizes, reuse of freed blocks, the byte
// counters, and its threads: each thread's own free lists, the shared pool
// that a thread's blocks move to when it exits, and empty_cache reaching the
// lists of a thread that is still running.
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "tensor/allocator.h"
#include "tensor/tensor.h"

using namespace gradlab;

TEST_CASE("the caching allocator reuses blocks and counts bytes") {
  CHECK(allocation_bucket(1) == 64);
  CHECK(allocation_bucket(64) == 64);
  CHECK(allocation_bucket(65) == 128);
  CHECK(allocation_bucket(1000) == 1024);
  CHECK(allocation_bucket(1025) == 1280);  // four buckets per power of two
  CHECK(allocation_bucket(3 << 20) == (3 << 20));
  for (size_t n : {100u, 5000u, 123457u}) {
    CHECK(allocation_bucket(n) >= n);
    CHECK(allocation_bucket(n) % 64 == 0);
    CHECK(allocation_bucket(n) <= n + n / 4 + 64);
  }
  empty_cache();
  const MemoryStats before = memory_stats();
  void* first = nullptr;
  {
    const Tensor a = Tensor::empty({1000, 1000});
    first = a.data_ptr();
    const MemoryStats during = memory_stats();
    CHECK(during.in_use_bytes - before.in_use_bytes == int64_t(allocation_bucket(4000000)));
    CHECK(during.peak_bytes >= during.in_use_bytes);
  }
  CHECK(memory_stats().in_use_bytes == before.in_use_bytes);
  CHECK(memory_stats().cached_bytes >= int64_t(allocation_bucket(4000000)));
  const int64_t hits = memory_stats().cache_hits;
  const Tensor b = Tensor::empty({999, 1001});  // same bucket: the same block comes back
  CHECK(b.data_ptr() == first);
  CHECK(memory_stats().cache_hits == hits + 1);
  empty_cache();
  CHECK(memory_stats().cached_bytes == 0);
}

TEST_CASE("the allocator's counters add up over threads that allocate and free side by side") {
  empty_cache();
  const MemoryStats before = memory_stats();
  constexpr int kThreads = 4, kRounds = 2000;
  auto work = [](int t) {
    std::vector<Tensor> held;
    for (int r = 0; r < kRounds; ++r) {
      held.push_back(Tensor::empty({int64_t(1 + (r * 7 + t * 13) % 300)}));
      if (held.size() > 8) held.erase(held.begin());  // frees, in another order than allocated
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(work, t);
  for (std::thread& th : threads) th.join();
  const MemoryStats after = memory_stats();
  CHECK(after.in_use_bytes == before.in_use_bytes);
  CHECK(after.allocations - before.allocations == kThreads * kRounds);
  CHECK(after.cache_hits - before.cache_hits > kThreads * kRounds / 2);  // most requests reuse a block
  CHECK(after.cache_hits - before.cache_hits <= kThreads * kRounds);
  CHECK(after.peak_bytes >= before.in_use_bytes);
  CHECK(after.cached_bytes > 0);
  empty_cache();  // the exited threads' blocks are in the shared pool: all freed
  CHECK(memory_stats().cached_bytes == 0);
}

TEST_CASE("a block freed by a thread that has exited serves the next request of its bucket") {
  empty_cache();
  void* freed = nullptr;
  std::thread([&] {
    const Tensor t = Tensor::empty({12345});
    freed = t.data_ptr();
  }).join();
  const int64_t hits = memory_stats().cache_hits;
  const Tensor again = Tensor::empty({12340});  // the same bucket
  CHECK(again.data_ptr() == freed);
  CHECK(memory_stats().cache_hits == hits + 1);
}

TEST_CASE("empty_cache frees the blocks a running thread keeps for itself") {
  empty_cache();
  std::mutex m;
  std::condition_variable cv;
  int stage = 0;  // 1: the thread has freed its tensor; 2: the cache has been emptied
  void* first = nullptr;
  void* second = nullptr;
  std::thread th([&] {
    {
      const Tensor t = Tensor::empty({50000});
      first = t.data_ptr();
    }
    {
      std::unique_lock<std::mutex> lock(m);
      stage = 1;
      cv.notify_all();
      cv.wait(lock, [&] { return stage == 2; });
    }
    const Tensor t = Tensor::empty({50000});  // its own lists were emptied: a fresh block
    second = t.data_ptr();
  });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return stage == 1; });
  }
  CHECK(memory_stats().cached_bytes >= int64_t(allocation_bucket(200000)));
  const int64_t hits = memory_stats().cache_hits;
  empty_cache();
  CHECK(memory_stats().cached_bytes == 0);
  {
    std::lock_guard<std::mutex> lock(m);
    stage = 2;
  }
  cv.notify_all();
  th.join();
  CHECK(memory_stats().cache_hits == hits);  // the thread's second request found nothing cached
  CHECK(first != nullptr);
  CHECK(second != nullptr);
}
