// LoRALinear: starts equal to its base, only the adapters learn, merge and
// unmerge keep the output, and K adapters in one pass equal K separate passes.
#include <doctest/doctest.h>

#include "nn/gpt.h"
#include "nn/lora.h"
#include "tensor/error.h"
#include "tests/nn/module_check.h"

using namespace gradlab;
using namespace gradlab::nn;

TEST_CASE("a fresh LoRA layer equals its base, and only the adapters get gradients") {
  Generator gen(1);
  auto base = std::make_shared<Linear>(6, 4, gen, LinearOptions{.dtype = DType::f64});
  LoRALinear lora(base, gen, {.rank = 2, .alpha = 4});
  const Tensor x = randn({3, 6}, gen, DType::f64);
  CHECK(max(abs(lora(Var(x)).value() - base->forward(Var(x)).value())).item() == 0);  // B starts at zero
  CHECK(lora.parameter_count(true) == 2 * 6 + 4 * 2);
  CHECK_FALSE(base->weight.requires_grad());
  const Tensor w_before = base->weight.value().clone();
  // one SGD step by hand
  sum(square(lora(Var(x)))).backward();
  CHECK_FALSE(base->weight.grad().defined());
  REQUIRE(lora.B.grad().defined());
  {
    NoGradGuard guard;
    for (const Var& p : lora.trainable_parameters()) {
      Tensor v = p.value();
      v.copy_(sub(v, mul(p.grad(), 0.1)));
    }
  }
  CHECK(max(abs(base->weight.value() - w_before)).item() == 0);
  CHECK(max(abs(lora.B.value())).item() > 0);
  // gradients of the adapters at a non-zero B
  nn_test::check_module_gradients(lora, [&] { return sum(tanh(lora(Var(x)))); });
}

TEST_CASE("LoRA A starts fan-in uniform or Gaussian with std 1/r; B starts at zero either way") {
  Generator gen(5);
  auto base = std::make_shared<Linear>(400, 3, gen, LinearOptions{.dtype = DType::f64});
  LoRALinear uniform(base, gen, {.rank = 4, .adapters = 5});
  LoRALinear gaussian(base, gen, {.rank = 4, .adapters = 5, .init = LoRAInit::gaussian});
  // 8000 entries each: U(-1/20, 1/20) has max |a| <= 0.05 and std 0.05/sqrt(3) = 0.0289;
  // N(0, 1/16) has std 0.25 (the sample std within 3% with overwhelming probability).
  auto std_of = [](const Tensor& a) { return std::sqrt(mean(square(a)).item()); };
  CHECK(max(abs(uniform.A.value())).item() <= 0.05);
  CHECK(std_of(uniform.A.value()) == doctest::Approx(0.05 / std::sqrt(3.0)).epsilon(0.03));
  CHECK(std_of(gaussian.A.value()) == doctest::Approx(0.25).epsilon(0.03));
  CHECK(max(abs(gaussian.A.value())).item() > 0.5);  // a uniform draw could never reach 2 std
  CHECK(max(abs(gaussian.B.value())).item() == 0);
  CHECK(lora_init_from_string(lora_init_name(LoRAInit::gaussian)) == LoRAInit::gaussian);
  CHECK(lora_init_from_string("uniform") == LoRAInit::fan_in_uniform);
  CHECK_THROWS_WITH_AS(lora_init_from_string("xavier"), doctest::Contains("LoRA: unknown init 'xavier'"), Error);
}

TEST_CASE("merge and unmerge keep the output") {
  Generator gen(2);
  auto base = std::make_shared<Linear>(5, 3, gen, LinearOptions{.dtype = DType::f64});
  LoRALinear lora(base, gen, {.rank = 2, .alpha = 8});
  {
    NoGradGuard guard;
    Tensor b = lora.B.value();
    b.copy_(randn(b.shape(), gen, DType::f64));
  }
  const Tensor x = randn({4, 5}, gen, DType::f64);
  const Tensor before = lora(Var(x)).value();
  const Tensor w0 = base->weight.value().clone();
  lora.merge();
  CHECK(lora.merged());
  CHECK(max(abs(base->forward(Var(x)).value() - before)).item() < 1e-12);
  CHECK(max(abs(lora(Var(x)).value() - before)).item() < 1e-12);
  lora.unmerge();
  CHECK(max(abs(base->weight.value() - w0)).item() < 1e-12);
  CHECK(max(abs(lora(Var(x)).value() - before)).item() < 1e-12);
  CHECK_THROWS_WITH_AS(lora.unmerge(), "LoRALinear::unmerge: not merged", Error);
}

TEST_CASE("K adapters in one pass equal K separate passes") {
  Generator gen(3);
  auto base = std::make_shared<Linear>(5, 3, gen, LinearOptions{.dtype = DType::f64});
  const int64_t K = 4;
  LoRALinear ens(base, gen, {.rank = 2, .alpha = 2, .adapters = K});
  {
    NoGradGuard guard;
    Tensor b = ens.B.value();
    b.copy_(randn(b.shape(), gen, DType::f64));
  }
  const Tensor x = randn({2, 3, 5}, gen, DType::f64);
  const Tensor shared = ens(Var(x)).value();  // [K, 2, 3, 3]
  REQUIRE(shared.shape() == Shape{K, 2, 3, 3});
  const Tensor own_inputs = randn({K, 2, 3, 5}, gen, DType::f64);
  const Tensor own = ens.forward(Var(own_inputs), /*members_first=*/true).value();
  for (int64_t k = 0; k < K; ++k) {
    // member k alone: base(x) + scale * x A_k^T B_k^T
    auto member = [&](const Tensor& in) {
      return add(
          base->forward(Var(in)).value(),
          mul(matmul(matmul(in, ens.A.value().select(0, k).mT()), ens.B.value().select(0, k).mT()), ens.scale()));
    };
    CHECK(max(abs(shared.select(0, k) - member(x))).item() < 1e-12);
    CHECK(max(abs(own.select(0, k) - member(own_inputs.select(0, k)))).item() < 1e-12);
  }
  nn_test::check_module_gradients(ens, [&] { return sum(tanh(ens(Var(x)))); });
  CHECK_THROWS_WITH_AS(ens.merge(), "LoRALinear::merge: only one adapter can be merged, this layer has 4", Error);
}

TEST_CASE("a low-rank adapter in place: by hand, frozen base, gradients, and a GPT whose blocks take one each") {
  Generator gen(3);
  Linear layer(5, 3, gen, LinearOptions{.dtype = DType::f64});
  const Tensor x = randn({2, 4, 5}, gen, DType::f64);
  const Tensor before = layer.forward(Var(x)).value();
  layer.add_low_rank_adapter(2, 6.0, gen);
  CHECK(layer.has_low_rank_adapter());
  CHECK(max(abs(layer.forward(Var(x)).value() - before)).item() == 0);  // B starts at zero
  CHECK(layer.parameter_count(true) == 2 * 5 + 3 * 2);
  CHECK_FALSE(layer.weight.requires_grad());
  // y = x W^T + b + (alpha / r) (x A^T) B^T, with B set by hand
  {
    Tensor b = layer.lora_B.value();
    b.copy_(randn({3, 2}, gen, DType::f64));
  }
  const Tensor A = layer.lora_A.value(), B = layer.lora_B.value();
  const Tensor by_hand = add(before, mul(matmul(matmul(x, A.transpose(0, 1)), B.transpose(0, 1)), 3.0));
  CHECK(max(abs(layer.forward(Var(x)).value() - by_hand)).item() < 1e-12);
  nn_test::check_module_gradients(layer, [&] { return sum(tanh(layer(Var(x)))); });
  CHECK_THROWS_WITH_AS(layer.add_low_rank_adapter(2, 6.0, gen),
                       doctest::Contains("Linear::add_low_rank_adapter: this layer already has an adapter"), Error);
  Linear other(5, 3, gen);
  CHECK_THROWS_WITH_AS(other.add_low_rank_adapter(0, 1.0, gen),
                       doctest::Contains("rank and alpha must be positive, got 0 and 1"), Error);

  GPT model({.vocab = 11, .context = 6, .d_model = 8, .heads = 2, .layers = 2, .reward_head = true}, gen);
  const Tensor idx = from_vector(std::vector<int64_t>{1, 2, 3, 4, 5, 6}, {1, 6});
  const Tensor logits = model.forward(idx).value();
  model.add_lora(2, 4.0, gen);
  CHECK(max(abs(model.forward(idx).value() - logits)).item() == 0);
  // Only the adapters train: 4 linear maps per block, 2 blocks.
  const auto trainable = model.trainable_parameters();
  CHECK(trainable.size() == 2 * 4 * 2);
  CHECK(model.parameter_count(true) == 2 * (2 * (8 + 24) + 2 * (8 + 8) + 2 * (8 + 32) + 2 * (32 + 8)));
  // And the cached decode sees them too: generation equals the uncached one.
  for (const Var& p : trainable) {
    Tensor v = p.value();
    v.copy_(randn(p.shape(), gen));
  }
  Generator g1(5), g2(5);
  const Tensor prompt = from_vector(std::vector<int64_t>{1, 2}, {1, 2});
  const auto cached = model.generate(prompt, 4, g1, {.greedy = true, .use_cache = true}).to_vector<int64_t>();
  const auto uncached = model.generate(prompt, 4, g2, {.greedy = true, .use_cache = false}).to_vector<int64_t>();
  CHECK(cached == uncached);
  // With the adapters trained the logits moved.
  CHECK(max(abs(model.forward(idx).value() - logits)).item() > 0);
}
