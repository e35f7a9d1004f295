// ThreadCountGuard: pins gradlab's kernel thread count for one test and puts
// the previous count back when the test ends, even when a CHECK or an
// exception leaves early. Learning and determinism tests pin the count because
// the same seed gives the same bits only for the same thread count.
#pragma once

#include "tensor/parallel.h"

namespace gradlab::test {

class ThreadCountGuard {
 public:
  explicit ThreadCountGuard(int threads) : saved_(num_threads()) { set_num_threads(threads); }
  ~ThreadCountGuard() { set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int saved_;
};

}  // namespace gradlab::test
