// Modules: parameter trees and names, moving to a device, train/eval, freeze, state dicts and
// their errors, initialisers, and each layer's output and gradients (f64
// central differences at small sizes).
#include <doctest/doctest.h>

#include <cmath>

#include "nn/layers.h"
#include "nn/transformer.h"
#include "tensor/device.h"
#include "tests/nn/module_check.h"

using namespace gradlab;
using namespace gradlab::nn;

TEST_CASE("a module tree names its parameters and counts them") {
  Generator gen(0);
  MLP mlp({3, 5, 2}, gen);
  const auto named = mlp.named_parameters();
  REQUIRE(named.size() == 4);
  CHECK(named[0].first == "layers.0.weight");
  CHECK(named[1].first == "layers.0.bias");
  CHECK(named[3].first == "layers.1.bias");
  CHECK(named[0].second.shape() == Shape{5, 3});
  CHECK(mlp.parameter_count() == 3 * 5 + 5 + 5 * 2 + 2);
  mlp.layers()[0]->freeze();
  CHECK(mlp.parameter_count(true) == 5 * 2 + 2);
  CHECK(mlp.trainable_parameters().size() == 2);
  mlp.unfreeze();
  CHECK(mlp.parameter_count(true) == mlp.parameter_count());
  Block block(8, 2, gen);
  CHECK(block.named_parameters()[0].first == "ln1.weight");
  CHECK(block.named_parameters()[2].first == "attn.qkv.weight");
}

TEST_CASE("Module::to keeps the same Vars, drops their gradients, and names a missing GPU") {
  Generator gen(0);
  MLP mlp({3, 4, 2}, gen);
  const std::vector<Var> before = mlp.parameters();
  const std::vector<float> w = before[0].value().to_vector<float>();
  sum(mlp.forward(Var(randn({5, 3}, gen)))).backward();
  REQUIRE(before[0].grad().defined());
  mlp.to(Device::cpu);
  const std::vector<Var> after = mlp.parameters();
  CHECK(after[0].impl() == before[0].impl());  // the optimiser's Vars still point at the model
  CHECK(after[0].value().to_vector<float>() == w);
  CHECK_FALSE(after[0].grad().defined());
  if (!cuda_available()) {
    // The message comes from the tensor copy: it names CUDA, not Module::to or the parameter.
    CHECK_THROWS_WITH_AS(mlp.to(Device::cuda), doctest::Contains("CUDA tensor"), Error);
    CHECK(mlp.parameters()[0].value().device() == Device::cpu);  // nothing moved
  }
}

TEST_CASE("train and eval reach every module; dropout follows") {
  Generator gen(0);
  Block block(8, 2, gen, /*dropout=*/0.5);
  CHECK(block.training());
  block.eval();
  CHECK_FALSE(block.training());
  CHECK_FALSE(block.attn->qkv->training());
  const Tensor x = randn({2, 3, 8}, gen);
  // eval: deterministic
  CHECK(block.forward(Var(x)).value().to_vector<float>() == block.forward(Var(x)).value().to_vector<float>());
  block.train();
  CHECK(block.forward(Var(x)).value().to_vector<float>() != block.forward(Var(x)).value().to_vector<float>());
}

TEST_CASE("state dicts round trip and report the first mismatch by name") {
  Generator gen(1), gen2(2);
  MLP a({4, 6, 2}, gen), b({4, 6, 2}, gen2);
  const Tensor x = randn({3, 4}, gen);
  CHECK(a.forward(Var(x)).value().to_vector<float>() != b.forward(Var(x)).value().to_vector<float>());
  b.load_state_dict(a.state_dict());
  CHECK(a.forward(Var(x)).value().to_vector<float>() == b.forward(Var(x)).value().to_vector<float>());
  NamedTensors state = a.state_dict();
  state[1].second = zeros({7});
  CHECK_THROWS_WITH_AS(b.load_state_dict(state),
                       "load_state_dict: 'layers.0.bias' has shape [7] in the state but [6] in the model", Error);
  state = a.state_dict();
  state.pop_back();
  CHECK_THROWS_WITH_AS(b.load_state_dict(state), "load_state_dict: 'layers.1.bias' is missing from the state", Error);
  b.load_state_dict(state, /*strict=*/false);
  state = a.state_dict();
  state.push_back({"extra", zeros({1})});
  CHECK_THROWS_WITH_AS(b.load_state_dict(state), "load_state_dict: 'extra' in the state is not in the model", Error);
  state = a.state_dict();
  state[0].second = state[0].second.to(DType::f64);
  CHECK_THROWS_WITH_AS(b.load_state_dict(state),
                       "load_state_dict: 'layers.0.weight' has dtype f64 in the state but f32 in the model", Error);
}

TEST_CASE("initialisers have the right scale") {
  Generator gen(5);
  const Tensor xu = xavier_uniform({300, 200}, gen, 1.0, DType::f64);
  const double bound = std::sqrt(6.0 / 500);
  CHECK(max(abs(xu)).item() <= bound);
  CHECK(std::sqrt(var(xu).item()) == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.02));
  CHECK(std::sqrt(var(kaiming_normal({400, 300}, gen, std::sqrt(2.0), DType::f64)).item()) ==
        doctest::Approx(std::sqrt(2.0 / 300)).epsilon(0.02));
  const Tensor q = orthogonal({6, 4}, gen, 2.0, DType::f64);  // tall: orthonormal columns, times gain
  CHECK(max(abs(matmul(q.mT(), q) - mul(eye(4, 4, DType::f64), 4.0))).item() < 1e-10);
  const Tensor w = orthogonal({3, 5}, gen, 1.0, DType::f64);  // wide: orthonormal rows
  CHECK(max(abs(matmul(w, w.mT()) - eye(3, 3, DType::f64))).item() < 1e-10);
  MLP ppo({4, 64, 2}, gen,
          {.activation = Activation::tanh, .init = "orthogonal", .gain = std::sqrt(2.0), .output_gain = 0.01});
  const Tensor w0 = ppo.layers()[0]->weight.value().to(DType::f64);
  CHECK(max(abs(matmul(w0.mT(), w0) - mul(eye(4, 4, DType::f64), 2.0))).item() < 1e-5);
  CHECK(max(abs(ppo.layers()[0]->bias.value())).item() == 0);
  CHECK_THROWS_WITH_AS(MLP({2, 2}, gen, {.init = "magic"}),
                       "MLP: unknown init 'magic' (default, orthogonal, xavier, kaiming)", Error);
}

TEST_CASE("Linear computes x W^T + b, calls its hooks, and has correct gradients") {
  Generator gen(3);
  Linear lin(4, 3, gen, {.bias = true, .dtype = DType::f64});
  const Tensor x = randn({2, 5, 4}, gen, DType::f64);
  const Var y = lin(Var(x));
  CHECK(y.shape() == Shape{2, 5, 3});
  const Tensor want = add(matmul(x, lin.weight.value().mT()), lin.bias.value());
  CHECK(max(abs(y.value() - want)).item() < 1e-12);
  int calls = 0;
  const int id = lin.register_forward_hook([&](const Module& m, const Var& in, const Var& out) {
    ++calls;
    CHECK(&m == &lin);
    CHECK(in.shape() == Shape{2, 5, 4});
    CHECK(out.shape() == Shape{2, 5, 3});
  });
  lin(Var(x));
  lin.remove_forward_hook(id);
  lin(Var(x));
  CHECK(calls == 1);
  nn_test::check_module_gradients(lin, [&] { return sum(tanh(lin(Var(x)))); });
  Linear nobias(4, 2, gen, {.bias = false, .dtype = DType::f64});
  CHECK(nobias.named_parameters().size() == 1);
  nn_test::check_module_gradients(nobias, [&] { return sum(square(nobias(Var(x)))); });
  CHECK_THROWS_WITH_AS(lin(Var(zeros({2, 5}, DType::f64))),
                       "linear: x of shape [2, 5] does not end in in = 4 (weight [3, 4])", Error);
}

TEST_CASE("Embedding, LayerNorm and MLP gradients") {
  Generator gen(4);
  Embedding emb(10, 4, gen, 1.0, DType::f64);
  const Tensor idx = from_vector(std::vector<int64_t>{1, 3, 3, 9, 0, 1}, {2, 3});
  CHECK(emb(idx).shape() == Shape{2, 3, 4});
  nn_test::check_module_gradients(emb, [&] { return sum(square(emb(idx))); });
  LayerNorm ln(4, 1e-5, DType::f64);
  const Tensor x = randn({3, 4}, gen, DType::f64);
  {
    NoGradGuard guard;
    Tensor w = ln.weight.value(), b = ln.bias.value();
    w.copy_(randn({4}, gen, DType::f64));
    b.copy_(randn({4}, gen, DType::f64));
  }
  nn_test::check_module_gradients(ln, [&] { return sum(tanh(ln(Var(x)))); });
  for (Activation a : {Activation::relu, Activation::tanh, Activation::gelu, Activation::silu, Activation::sigmoid}) {
    MLP mlp({4, 6, 3}, gen, {.activation = a, .output = Activation::tanh, .dtype = DType::f64});
    nn_test::check_module_gradients(mlp, [&] { return sum(mlp(Var(x))); });
  }
}

TEST_CASE("causal self-attention ignores the future and has correct gradients") {
  Generator gen(6);
  CausalSelfAttention attn(8, 2, gen, 0.0, 0, DType::f64);
  const Tensor x = randn({2, 5, 8}, gen, DType::f64);
  const Tensor y = attn.forward(Var(x)).value();
  // Changing the last position changes only the last output position.
  Tensor x2 = x.clone();
  x2.select(1, 4).fill_(3.0);
  const Tensor y2 = attn.forward(Var(x2)).value();
  CHECK(max(abs(y.narrow(1, 0, 4) - y2.narrow(1, 0, 4))).item() == 0);
  CHECK(max(abs(y.narrow(1, 4, 1) - y2.narrow(1, 4, 1))).item() > 1e-3);
  nn_test::check_module_gradients(attn, [&] { return sum(tanh(attn.forward(Var(x)))); });
  Block block(8, 2, gen, 0.0, 0, DType::f64);
  nn_test::check_module_gradients(block, [&] { return sum(tanh(block.forward(Var(x)))); });
  CHECK_THROWS_WITH_AS(CausalSelfAttention(10, 3, gen), "CausalSelfAttention: d_model 10 is not a multiple of heads 3",
                       Error);
}
