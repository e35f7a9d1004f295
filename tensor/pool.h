// A per-thread pool of small blocks for the objects every op makes: a
// tensor's Storage record, and the autograd engine's graph nodes, Var bodies
// (all made with std::allocate_shared) and the short vectors a node keeps
// (its edges, input shapes, saved tensors). The tensor's data itself comes
// from the caching allocator (allocator.h).
//
// A recorded graph makes these for every op, a few hundred bytes each, and
// frees them all together after backward. glibc's malloc keeps only seven
// blocks of a size in its per-thread cache; the rest go through its sorted
// bins and are merged and split again on every step, which costs more than a
// small op's arithmetic. The pool keeps up to kPoolKeep freed blocks per size
// class (16-byte steps up to 1 KiB) on the freeing thread and hands them back
// last in, first out. Larger blocks go to operator new.
//
// A block may be freed on another thread than the one that made it; it
// joins that thread's lists. A thread's lists are freed when the thread
// ends; a block freed after that (by another thread-local's destructor) goes
// to operator delete.
#pragma once

#include <array>
#include <cstddef>
#include <new>
#include <vector>

namespace gradlab::pool {

// Blocks kept per size class and thread; none under AddressSanitizer, so
// that it still sees every use of a freed node.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr size_t kPoolKeep = 0;
#else
inline constexpr size_t kPoolKeep = 1024;
#endif
inline constexpr size_t kStep = 16;                   // bytes between size classes
inline constexpr size_t kLargest = 1024;              // larger blocks are not pooled
inline constexpr size_t kClasses = kLargest / kStep;  // class c holds blocks of (c + 1) * kStep bytes

class Pools {
 public:
  // A block of at least `bytes`, aligned to 16.
  static void* allocate(size_t bytes) {
    if (bytes == 0 || bytes > kLargest) return ::operator new(bytes);
    const size_t c = (bytes - 1) / kStep;  // always the whole class: another thread may pool it
    if (ended_) return ::operator new((c + 1) * kStep);
    Pools& p = mine();
    Link* b = p.head_[c];
    if (b == nullptr) return ::operator new((c + 1) * kStep);
    p.head_[c] = b->next;
    --p.count_[c];
    return b;
  }
  static void deallocate(void* block, size_t bytes) {
    if (bytes == 0 || bytes > kLargest || ended_) return ::operator delete(block);
    const size_t c = (bytes - 1) / kStep;
    Pools& p = mine();
    if (p.count_[c] >= kPoolKeep) return ::operator delete(block);
    p.head_[c] = ::new (block) Link{p.head_[c]};
    ++p.count_[c];
  }

  Pools() = default;
  Pools(const Pools&) = delete;
  Pools& operator=(const Pools&) = delete;
  ~Pools() {
    ended_ = true;
    for (Link* b : head_)
      while (b != nullptr) {
        Link* next = b->next;
        ::operator delete(static_cast<void*>(b));
        b = next;
      }
  }

 private:
  struct Link {
    Link* next;
  };
  static Pools& mine() {
    thread_local Pools p;
    return p;
  }
  std::array<Link*, kClasses> head_{};
  std::array<size_t, kClasses> count_{};
  static inline thread_local bool ended_ = false;  // trivially destroyed: still readable while the thread exits
};

// The allocator for std::allocate_shared and std::vector.
template <class T>
struct Allocator {
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "pool::Allocator: over-aligned type");
  using value_type = T;
  Allocator() = default;
  template <class U>
  Allocator(const Allocator<U>&) {}  // NOLINT(google-explicit-constructor): rebinding

  T* allocate(size_t n) { return static_cast<T*>(Pools::allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { Pools::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const Allocator<U>&) const {
    return true;
  }
};

// A vector whose buffer comes from the pool.
template <class T>
using Vector = std::vector<T, Allocator<T>>;

}  // namespace gradlab::pool
