// CudaGraph (tensor/cuda/graph.h): a recorded step runs nothing until it is
// replayed, replays give exactly what the same steps give eagerly (the same
// kernels on the same data), a training step of autograd and SGD records and
// replays, and a step that reads a value back to the host makes capture fail
// with an error that says so, leaving the GPU usable. Without a CUDA build,
// capture throws "built without CUDA".
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "nn/linear.h"
#include "optim/sgd.h"
#include "tensor/cuda/graph.h"
#include "tests/cuda/cuda_check.h"

using namespace gradlab;
using namespace cuda_test;

TEST_CASE("CudaGraph without a GPU or a CUDA build says why") {
  if (have_gpu()) return;
  CudaGraph g;
  CHECK_FALSE(g.captured());
  if (!cuda_built()) CHECK_THROWS_WITH_AS(g.capture([] {}), doctest::Contains("built without CUDA"), Error);
}

TEST_CASE("a recorded step replays to the values of eager steps") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(30);
  const Tensor x = gpu(randn({64, 32}, gen)), w = gpu(randn({32, 16}, gen) * 0.1);
  Tensor eager = zeros({64, 16}, DType::f32, Device::cuda), graphed = zeros({64, 16}, DType::f32, Device::cuda);
  auto step = [&](Tensor& acc) { acc.copy_(acc * 0.5 + tanh(matmul(x, w) + acc)); };
  for (int i = 0; i < 4; ++i) step(eager);
  step(graphed);  // warms the allocator's cache
  const Tensor after_one = graphed.to(Device::cpu);
  CudaGraph g;
  g.capture([&] { step(graphed); });
  REQUIRE(g.captured());
  CHECK_PARITY("capture runs nothing", after_one, graphed, Tol{0, 0});
  for (int i = 0; i < 3; ++i) g.replay();
  CHECK_PARITY("1 eager step + 3 replays vs 4 eager steps", eager.to(Device::cpu), graphed, Tol{1e-6, 1e-6});
}

TEST_CASE("a training step (Linear, mse, SGD) replays as eager steps") {
  REQUIRE_GPU_OR_SKIP();
  Generator g1(31), g2(31), data(32);
  nn::Linear a(16, 8, g1), b(16, 8, g2);
  a.to(Device::cuda);
  b.to(Device::cuda);
  const Tensor x = gpu(randn({32, 16}, data)), y = gpu(randn({32, 8}, data));
  optim::SGD oa(a.parameters(), {.lr = 0.05}), ob(b.parameters(), {.lr = 0.05});
  auto step = [&](nn::Linear& m, optim::SGD& o) {
    o.zero_grad();
    const Var loss = mse(m(Var(x)), Var(y));
    loss.backward();
    o.step();
  };
  for (int i = 0; i < 5; ++i) step(a, oa);
  step(b, ob);
  CudaGraph g;
  g.capture([&] { step(b, ob); });
  for (int i = 0; i < 4; ++i) g.replay();
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  for (size_t i = 0; i < pa.size(); ++i)
    CHECK_PARITY("parameter " + pa[i].first, pa[i].second.value().to(Device::cpu), pb[i].second.value(),
                 Tol{1e-6, 1e-5});
}

TEST_CASE("capturing a step that reads back to the host fails clearly") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(33);
  const Tensor x = gpu(randn({8, 8}, gen));
  (void)sum(x * 2.0);  // warms the cache for the step's temporaries
  CudaGraph g;
  CHECK_THROWS_WITH_AS(g.capture([&] { (void)sum(x * 2.0).item(); }), doctest::Contains("CUDA graph"), Error);
  CHECK_FALSE(g.captured());
  CHECK_THROWS_WITH_AS(g.replay(), doctest::Contains("nothing captured"), Error);
  // The GPU and the default stream are usable as before.
  CHECK_PARITY("after a failed capture", sum(x.to(Device::cpu) * 2.0), sum(x * 2.0), tol_sum(DType::f32));
}
