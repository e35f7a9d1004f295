// The autograd engine: accumulation across uses and calls, retained and freed
// graphs, no_grad and detach, the saved-tensor version check, when a leaf
// takes its gradient without a copy, hooks and retain_grad, bad-input errors,
// very long graphs, and memory that stays flat over a long training loop.
#include <doctest/doctest.h>

#include <thread>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/allocator.h"

using namespace gradlab;

namespace {
Tensor t64(std::initializer_list<double> v, const Shape& shape = {}) { return tensor(v, shape, DType::f64); }
std::vector<double> vals(const Tensor& t) { return t.to_vector<double>(); }
}  // namespace

TEST_CASE("a Var used twice gets the sum of both gradients") {
  const Var x = Var::leaf(t64({1, 2, 3}));
  const Var y = sum(x * x + x);  // dy/dx = 2x + 1
  y.backward();
  CHECK(vals(x.grad()) == std::vector<double>{3, 5, 7});
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.requires_grad());
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  const Var x = Var::leaf(t64({1, 2}));
  const Var y = sum(x * 3.0);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  CHECK(vals(x.grad()) == std::vector<double>{6, 6});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(x * 2.0).backward();
  CHECK(vals(x.grad()) == std::vector<double>{2, 2});
}

TEST_CASE("a freed graph refuses a second backward") {
  const Var x = Var::leaf(t64({1, 2}));
  const Var y = sum(exp(x));
  y.backward();
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("backward through 'sum' a second time"), Error);
  // the freed graph released its saved tensors
  CHECK(y.node()->released);
  CHECK(y.node()->saved.empty());
}

TEST_CASE("gradients through a shared subgraph and a constant") {
  const Var a = Var::leaf(t64({2}));
  const Var b = a * a;  // 4
  const Var c = b * a;  // 8: dc/da = 3a^2 = 12
  const Var d = b + c;  // dd/da = 2a + 3a^2 = 16
  d.backward(t64({1}));
  CHECK(vals(a.grad()) == std::vector<double>{16});
  const Var k(t64({5}));  // a constant
  CHECK_FALSE(k.requires_grad());
  const Var e = Var::leaf(t64({1})) * k;
  CHECK(e.requires_grad());
}

TEST_CASE("no_grad records nothing, EnableGradGuard turns recording back on, per thread") {
  const Var x = Var::leaf(t64({1, 2}));
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    const Var y = x * x;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node() == nullptr);
    {
      EnableGradGuard on;
      CHECK((x * x).requires_grad());
    }
    bool other_thread_enabled = false;
    std::thread([&] { other_thread_enabled = grad_enabled(); }).join();
    CHECK(other_thread_enabled);
  }
  CHECK(grad_enabled());
  CHECK((x * x).requires_grad());
}

TEST_CASE("detach cuts the graph") {
  const Var x = Var::leaf(t64({3}));
  const Var y = x * x.detach();  // only the first factor carries a gradient: dy/dx = x
  y.backward(t64({1}));
  CHECK(vals(x.grad()) == std::vector<double>{3});
  CHECK(x.detach().value().storage() == x.value().storage());
}

TEST_CASE("changing a tensor saved for backward is caught") {
  const Var x = Var::leaf(t64({1, 2}));
  const Var w = Var::leaf(t64({3, 4}));
  const Var y = sum(x * w);
  Tensor wv = w.value();
  wv.fill_(0);  // an optimiser step before backward
  CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("mul: a tensor it saved for backward"), Error);
  // a failed backward leaves no partial gradients behind it on the nodes
  CHECK_FALSE(y.node()->pending_grad.defined());
}

TEST_CASE("bad backward calls name the problem") {
  const Var x = Var::leaf(t64({1, 2}));
  const Var y = x * 2.0;
  CHECK_THROWS_WITH_AS(y.backward(),
                       "backward: called on a Var of shape [2] without a cotangent; only a single-element Var (a loss) "
                       "can start backward on its own",
                       Error);
  CHECK_THROWS_WITH_AS(y.backward(t64({1, 2, 3})), "backward: cotangent of shape [3] for a Var of shape [2]", Error);
  CHECK_THROWS_WITH_AS(y.backward(tensor({1, 2})), "backward: cotangent of dtype f32 for a Var of dtype f64", Error);
  const Var c(t64({1}));
  CHECK_THROWS_WITH_AS(c.backward(), doctest::Contains("backward: this Var does not require a gradient"), Error);
  CHECK_THROWS_WITH_AS(y.requires_grad_(false), doctest::Contains("requires_grad_: only leaves can change it"), Error);
  CHECK_THROWS_WITH_AS(Var::leaf(arange(3)), "Var: only floating tensors can require gradients, got i64", Error);
  CHECK_THROWS_WITH_AS(Var().value(), "value: the Var is undefined", Error);
}

TEST_CASE("backward on a leaf, and with an explicit cotangent") {
  const Var x = Var::leaf(t64({1, 2}));
  x.backward(t64({5, 6}));
  CHECK(vals(x.grad()) == std::vector<double>{5, 6});
  const Var y = Var::leaf(t64({1, 2, 3}));
  (y * y).backward(t64({1, 0, 2}));
  CHECK(vals(y.grad()) == std::vector<double>{2, 0, 12});
}

TEST_CASE("a leaf's grad is its own: taken, or added into, without a copy only when nothing else holds it") {
  // x * 2 makes a fresh gradient that nothing else holds: the leaf takes it.
  const Var x = Var::leaf(t64({1, 2, 3}));
  const void* handed = nullptr;
  x.register_hook([&](const Tensor& g) {
    handed = g.data_ptr();  // a raw pointer: no reference kept
    return Tensor();
  });
  (x * 2.0).backward(t64({1, 1, 1}));
  CHECK(vals(x.grad()) == std::vector<double>{2, 2, 2});
  CHECK(x.grad().data_ptr() == handed);

  // A hook that keeps the gradient: the leaf gets a copy, and changing the
  // kept tensor leaves the grad alone.
  const Var w = Var::leaf(t64({1, 2}));
  Tensor kept;
  w.register_hook([&](const Tensor& g) {
    kept = g;
    return Tensor();
  });
  (w * 3.0).backward(t64({1, 1}));
  CHECK(w.grad().storage() != kept.storage());
  kept.mul_(10.0);
  CHECK(vals(w.grad()) == std::vector<double>{3, 3});

  // add hands one tensor to both inputs, and the cotangent is the caller's:
  // three separate storages.
  const Var a = Var::leaf(t64({1, 2})), b = Var::leaf(t64({3, 4}));
  const Tensor cot = t64({5, 6});
  (a + b).backward(cot);
  CHECK(a.grad().storage() != b.grad().storage());
  CHECK(a.grad().storage() != cot.storage());
  CHECK(b.grad().storage() != cot.storage());
  Tensor a_grad = a.grad();
  a_grad.mul_(2.0);
  CHECK(vals(b.grad()) == std::vector<double>{5, 6});
  CHECK(vals(cot) == std::vector<double>{5, 6});

  // A strided view (transpose) and views into one larger tensor (concat's
  // slices) are copied into contiguous grads of their own size.
  const Var m = Var::leaf(t64({1, 2, 3, 4, 5, 6}, {2, 3}));
  transpose(m, 0, 1).backward(t64({1, 2, 3, 4, 5, 6}, {3, 2}));
  CHECK(m.grad().is_contiguous());
  CHECK(vals(m.grad()) == std::vector<double>{1, 3, 5, 2, 4, 6});
  const Var p = Var::leaf(t64({1, 2})), q = Var::leaf(t64({3, 4, 5}));
  concat({p * 1.0, q * 1.0}).backward(t64({1, 2, 3, 4, 5}));
  CHECK(vals(p.grad()) == std::vector<double>{1, 2});
  CHECK(vals(q.grad()) == std::vector<double>{3, 4, 5});
  CHECK(p.grad().storage()->nbytes == 2 * sizeof(double));
  CHECK(q.grad().storage()->nbytes == 3 * sizeof(double));

  // A later backward adds into the grad in place, unless a copy of it is held.
  const Var s = Var::leaf(t64({1, 2}));
  (s * 2.0).backward(t64({1, 1}));
  const Tensor first = s.grad();
  (s * 2.0).backward(t64({1, 1}));
  CHECK(vals(first) == std::vector<double>{2, 2});
  CHECK(vals(s.grad()) == std::vector<double>{4, 4});
  CHECK(s.grad().storage() != first.storage());
  const void* second = s.grad().data_ptr();
  (s * 2.0).backward(t64({1, 1}));
  CHECK(vals(s.grad()) == std::vector<double>{6, 6});
  CHECK(s.grad().data_ptr() == second);
}

TEST_CASE("backward hooks see, and may replace, a node's output gradient") {
  const Var x = Var::leaf(t64({1, 2}));
  const Var h = x * 3.0;
  Tensor seen;
  h.register_hook([&](const Tensor& g) {
    seen = g;
    return Tensor();
  });
  const int doubling = h.register_hook([](const Tensor& g) { return mul(g, 2.0); });
  sum(h * h).backward();  // d/dh = 2h = [6, 12]
  CHECK(vals(seen) == std::vector<double>{6, 12});
  CHECK(vals(x.grad()) == std::vector<double>{36, 72});  // doubled, then times 3
  // leaf hooks, and removing a hook
  const Var z = Var::leaf(t64({1}));
  int calls = 0;
  const int id = z.register_hook([&](const Tensor&) {
    ++calls;
    return Tensor();
  });
  sum(z * 2.0).backward();
  z.remove_hook(id);
  sum(z * 2.0).backward();
  CHECK(calls == 1);
  CHECK(vals(z.grad()) == std::vector<double>{4});
  (void)doubling;
  CHECK_THROWS_WITH_AS(Var(t64({1})).register_hook([](const Tensor& g) { return g; }),
                       doctest::Contains("register_hook: the Var does not require a gradient"), Error);
}

TEST_CASE("retain_grad keeps an intermediate gradient; forward hooks see ops") {
  const Var x = Var::leaf(t64({1, 2}));
  const Var h = x * x;
  h.retain_grad();
  std::vector<std::string> ops;
  const int id = add_forward_hook([&](const OpInfo& op, const std::vector<Var>& inputs, const Var& out) {
    ops.push_back(op.name);
    CHECK(!inputs.empty());
    CHECK(out.defined());
  });
  const Var loss = sum(tanh(h));
  remove_forward_hook(id);
  sum(h).backward(Tensor(), /*retain_graph=*/true);  // not seen by the hook: it is gone
  CHECK(ops == std::vector<std::string>{"tanh", "sum"});
  CHECK(vals(h.grad()) == std::vector<double>{1, 1});
  loss.backward();
  const std::vector<double> g = vals(h.grad());
  CHECK(g[0] == doctest::Approx(2 - std::tanh(1.0) * std::tanh(1.0)));
}

TEST_CASE("per-example Linear gradients equal batch-size-one gradients") {
  // Layer y = x W + b, loss = sum over examples of sum(tanh(y_i)). The forward
  // hook captures the layer's input, a backward hook its output gradient.
  Generator gen(3);
  const int64_t B = 5, in = 4, out = 3;
  const Tensor x = randn({B, in}, gen, DType::f64);
  const Var W = Var::leaf(randn({in, out}, gen, DType::f64));
  const Var b = Var::leaf(randn({out}, gen, DType::f64));
  Tensor captured_input, captured_grad;
  const int id = add_forward_hook([&](const OpInfo& op, const std::vector<Var>& inputs, const Var& output) {
    if (std::string(op.name) != "matmul") return;
    captured_input = inputs[0].value();
    output.register_hook([&](const Tensor& g) {
      captured_grad = g;
      return Tensor();
    });
  });
  const Var y = matmul(Var(x), W) + b;
  remove_forward_hook(id);
  sum(tanh(y)).backward();
  const Tensor per_example = per_example_linear_grads(captured_input, captured_grad);
  REQUIRE(per_example.shape() == Shape{B, in, out});
  // The sum over examples is the batch gradient...
  CHECK(max(abs(sum(per_example, {0}) - W.grad())).item() < 1e-12);
  // ...and each slice is that example's own gradient.
  for (int64_t i = 0; i < B; ++i) {
    const Var Wi = Var::leaf(W.value().clone());
    const Var yi = matmul(Var(x.narrow(0, i, 1)), Wi) + b.detach();
    sum(tanh(yi)).backward();
    CHECK(max(abs(per_example.select(0, i) - Wi.grad())).item() < 1e-12);
  }
  // Sequences [B, T, in]: the example's gradient sums over its positions.
  const Tensor xs = randn({2, 6, in}, gen, DType::f64);
  const Tensor dys = randn({2, 6, out}, gen, DType::f64);
  const Tensor pe = per_example_linear_grads(xs, dys);
  CHECK(max(abs(pe.select(0, 1) - matmul(xs.select(0, 1).mT(), dys.select(0, 1)))).item() < 1e-12);
  CHECK_THROWS_WITH_AS(per_example_linear_grads(zeros({2, 3}), zeros({3, 2})),
                       doctest::Contains("per_example_linear_grads: expected input [B, in] and grad_output [B, out] "
                                         "(or [B, T, in] and [B, T, out]), got [2, 3] and [3, 2]"),
                       Error);
}

TEST_CASE("long graphs: backward and destruction do not recurse") {
  const int64_t n = 200000;
  const Var x = Var::leaf(t64({1}));
  {
    Var h = x;
    for (int64_t i = 0; i < n; ++i) h = h * 1.0;
    // dropped without backward: the destructor must not recurse 200k deep
  }
  Var h = x;
  for (int64_t i = 0; i < n; ++i) h = h + 1.0;
  h.backward(t64({2}));
  CHECK(vals(x.grad()) == std::vector<double>{2});
}

TEST_CASE("a 10,000-step training loop does not grow memory") {
  // Linear regression by hand-written SGD: the allocator's in-use bytes after
  // step 100 must equal those after step 10,000.
  Generator gen(1);
  const Tensor X = randn({32, 8}, gen), true_w = randn({8, 1}, gen);
  const Tensor Y = matmul(X, true_w);
  const Var w = Var::leaf(zeros({8, 1}));
  int64_t in_use_at_100 = 0, in_use_at_10000 = 0;
  double first_loss = 0, last_loss = 0;
  for (int step = 1; step <= 10000; ++step) {
    const Var loss = mean(square(matmul(Var(X), w) - Var(Y)));
    loss.backward();
    {
      NoGradGuard guard;
      Tensor wv = w.value();
      wv.copy_(sub(wv, mul(w.grad(), 0.05)));
    }
    w.zero_grad();
    if (step == 1) first_loss = loss.item();
    last_loss = loss.item();
    if (step == 100) in_use_at_100 = memory_stats().in_use_bytes;
    if (step == 10000) in_use_at_10000 = memory_stats().in_use_bytes;
  }
  CHECK(in_use_at_10000 == in_use_at_100);
  CHECK(last_loss < 1e-6 * first_loss);
}
