// Assets that every method of one seed shares (an SFT policy, a reward model,
// held-out prompts), built once per seed on whichever worker thread asks
// first, while the other methods of that seed wait for it:
//
//   SeedCache<Assets> cache([](const RunContext& run) { return build_assets(run); });
//   const Assets& a = cache.get(run);   // in any method's RunFn
//
// A build that throws leaves the slot empty, so the next caller retries (and
// the runner reports the first failure with its method and seed).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "bench/common/experiment.h"

namespace gradlab::bench {

template <class T>
class SeedCache {
 public:
  using Build = std::function<T(const RunContext&)>;
  explicit SeedCache(Build build) : build_(std::move(build)) {}

  const T& get(const RunContext& run) {
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto& slot = entries_[run.seed];
      if (!slot) slot = std::make_shared<Entry>();
      entry = slot;
    }
    std::call_once(entry->once, [&] { entry->value = std::make_unique<const T>(build_(run)); });
    return *entry->value;
  }

 private:
  struct Entry {
    std::once_flag once;
    std::unique_ptr<const T> value;
  };
  Build build_;
  std::mutex mutex_;
  std::map<uint64_t, std::shared_ptr<Entry>> entries_;
};

}  // namespace gradlab::bench
