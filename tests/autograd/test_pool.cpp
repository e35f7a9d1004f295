// The per-thread block pool (tensor/pool.h) behind tensors' Storage records
// and the autograd engine's objects: blocks come back to the thread that
// frees them, sizes round to whole classes, a pooled vector grows past the
// largest class and shrinks back into it with its values, a tensor's Storage
// record is reused, tensors freed on another thread than their own stay
// whole, and graphs built and freed on several threads give the same
// gradients.
#include <doctest/doctest.h>

#include <memory>
#include <thread>
#include <vector>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops.h"
#include "tensor/pool.h"

using namespace gradlab;

TEST_CASE("pool: a freed block is handed back to the next request of its size class") {
  if (pool::kPoolKeep == 0) return;  // AddressSanitizer build: nothing is pooled
  void* a = pool::Pools::allocate(100);
  pool::Pools::deallocate(a, 100);
  void* b = pool::Pools::allocate(112);  // 100 and 112 bytes share the 97-112 class
  CHECK(b == a);
  void* c = pool::Pools::allocate(100);  // the list is empty again: a new block
  CHECK(c != b);
  pool::Pools::deallocate(b, 112);
  pool::Pools::deallocate(c, 100);
}

TEST_CASE("pool: a vector on the pool grows, shrinks and keeps its values") {
  pool::Vector<int> v;
  for (int i = 0; i < 1000; ++i) v.push_back(i);  // past the largest class: operator new
  long sum = 0;
  for (int x : v) sum += x;
  CHECK(sum == 999L * 1000 / 2);
  v.resize(3);
  v.shrink_to_fit();  // back into a pooled class
  CHECK(v == pool::Vector<int>{0, 1, 2});
}

TEST_CASE("pool: a freed tensor's Storage record is handed to the next tensor") {
  if (pool::kPoolKeep == 0) return;  // AddressSanitizer build: nothing is pooled
  const Storage* first = nullptr;
  {
    const Tensor t = full({3}, 1.0f);
    first = t.storage().get();
  }
  const Tensor u = full({5}, 2.0f);  // another size: the record's block is the same
  CHECK(u.storage().get() == first);
  CHECK(u.to_vector<float>() == std::vector<float>(5, 2.0f));
}

TEST_CASE("pool: tensors made on a thread that has ended keep their data") {
  std::vector<Tensor> made(3);
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) workers.emplace_back([&, t] { made[size_t(t)] = full({64}, float(t)); });
  for (auto& th : workers) th.join();
  for (int t = 0; t < 3; ++t) CHECK(made[size_t(t)].to_vector<float>() == std::vector<float>(64, float(t)));
  made.clear();  // their records join this thread's lists
  const Tensor again = full({64}, 7.0f);
  CHECK(again.to_vector<float>() == std::vector<float>(64, 7.0f));
}

namespace {
// h = tanh(h w) applied `length` times from h = 1/2, summed; returns d/dw[0]
// at w = 1/2 (w a leaf).
float chain_grad(int length) {
  Var w = Var::leaf(full({4}, 0.5f));
  Var h = Var(full({4}, 0.5f));
  for (int i = 0; i < length; ++i) h = tanh(h * w);
  sum(h).backward();
  return w.grad().to_vector<float>()[0];
}
}  // namespace

TEST_CASE("pool: graphs made on one thread and freed on another give the same gradients") {
  const float expected = chain_grad(50);
  // Build graphs on worker threads and hand them back alive, so that their
  // nodes are freed on this thread and the workers' lists are freed at exit.
  std::vector<Var> kept(4);
  std::vector<float> grads(4);
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t)
    workers.emplace_back([&, t] {
      grads[size_t(t)] = chain_grad(50);
      Var w = Var::leaf(full({4}, 0.25f));
      kept[size_t(t)] = tanh(w * w);  // its node outlives the thread
    });
  for (auto& th : workers) th.join();
  for (float g : grads) CHECK(g == expected);
  for (const Var& k : kept) {
    sum(k).backward();
    CHECK(k.node()->released);
  }
  kept.clear();  // the workers' nodes are freed here, after their threads ended
  CHECK(chain_grad(50) == expected);
}
