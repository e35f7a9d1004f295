// The differentiable layers on hand-worked cases: layer_norm of [1, 2, 3],
// attention over one key or uniform scores, embedding gradients of repeated
// indices, dropout in eval mode and with one mask for forward and backward,
// silu with a bias; the autograd ops against the tensor kernels they wrap,
// and the fused bias and activation, and the fused residual add and layer
// norm, against the ops they fuse.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "tensor/fused_layers.h"
#include "tests/devices_to_test.h"

using namespace gradlab;

namespace {
std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }
std::vector<double> values(const Var& v) { return v.value().to_vector<double>(); }
}  // namespace

TEST_CASE("layer_norm on hand-worked rows") {
  // mean 2, biased variance 2/3: (x - 2) * sqrt(3/2)
  const Var y = layer_norm(Var(tensor({1, 2, 3}, {1, 3}, DType::f64)), Var(), Var(), 0.0);
  const std::vector<double> v = values(y);
  CHECK(v[0] == doctest::Approx(-1.2247448714));
  CHECK(v[1] == doctest::Approx(0.0));
  CHECK(v[2] == doctest::Approx(1.2247448714));
  // weight 2 and bias 1 give 2 y + 1
  const Var w = Var::leaf(full({3}, 2.0, DType::f64)), b = Var::leaf(full({3}, 1.0, DType::f64));
  const Var x = Var::leaf(tensor({1, 2, 3, 4, 4, 4}, {2, 3}, DType::f64));
  const Var z = layer_norm(x, w, b, 1e-12);
  const std::vector<double> zv = values(z);
  CHECK(zv[0] == doctest::Approx(2 * -1.2247448714 + 1));
  CHECK(zv[4] == doctest::Approx(1.0));  // a constant row normalises to 0
  // d sum(y) / d bias = rows; d sum(y) / d weight = xhat summed over rows
  // (the constant row adds 0); d sum(y) / dx = 0 (a row of xhat sums to 0 whatever x is)
  sum(z).backward();
  for (double g : values(b.grad())) CHECK(g == doctest::Approx(2.0));
  const std::vector<double> dw = values(w.grad());
  CHECK(dw[0] == doctest::Approx(-1.2247448714));
  CHECK(std::fabs(dw[1]) < 1e-12);
  CHECK(dw[2] == doctest::Approx(1.2247448714));
  for (double g : values(x.grad().select(0, 0))) CHECK(std::fabs(g) < 1e-9);
}

TEST_CASE("layer_norm Var matches the tensor kernel, forward and backward") {
  Generator gen(3);
  const Tensor xt = randn({4, 2, 9}, gen), wt = randn({9}, gen), bt = randn({9}, gen), dy = randn({4, 2, 9}, gen);
  const Var x = Var::leaf(xt), w = Var::leaf(wt), b = Var::leaf(bt);
  const Var y = layer_norm(x, w, b, 1e-3);
  const LayerNormForward f = layer_norm_forward(xt, wt, bt, 1e-3);
  CHECK(values(y) == values(f.y));
  y.backward(dy);
  const LayerNormGrads g = layer_norm_backward(dy, xt, wt, f.mean, f.rstd);
  CHECK(values(x.grad()) == values(g.dx));
  CHECK(values(w.grad()) == values(g.dweight));
  CHECK(values(b.grad()) == values(g.dbias));
  // without bias, with a constant x: only the weight gets a gradient
  w.zero_grad();
  const Var c = layer_norm(Var(xt), w, Var(), 1e-3);
  CHECK(values(c) == values(layer_norm_forward(xt, wt, Tensor(), 1e-3).y));
  sum(c).backward();
  CHECK(values(w.grad()) == values(layer_norm_backward(ones_like(xt), xt, wt, f.mean, f.rstd).dweight));
}

TEST_CASE("attention on hand-worked cases") {
  Generator gen(5);
  // One key: the softmax is 1, so the output is v and q, k get no gradient.
  const Var q = Var::leaf(randn({2, 2, 1, 3}, gen, DType::f64)), k = Var::leaf(randn({2, 2, 1, 3}, gen, DType::f64));
  const Var v = Var::leaf(randn({2, 2, 1, 3}, gen, DType::f64));
  const Var out = attention(q, k, v, true);
  CHECK(values(out) == values(v));
  sum(out).backward();
  for (double g : values(q.grad())) CHECK(std::fabs(g) < 1e-15);
  for (double g : values(k.grad())) CHECK(std::fabs(g) < 1e-15);
  for (double g : values(v.grad())) CHECK(g == doctest::Approx(1.0));
  // q = 0 makes every score equal: causal query i averages v[0..i].
  const Tensor vt = tensor({1, 10, 2, 20, 3, 30, 4, 40}, {1, 1, 4, 2}, DType::f64);
  const Tensor zero = zeros({1, 1, 4, 2}, DType::f64);
  const std::vector<double> avg =
      values(attention(Var(zero), Var(randn({1, 1, 4, 2}, gen, DType::f64)), Var(vt), true));
  const std::vector<double> want = {1, 10, 1.5, 15, 2, 20, 2.5, 25};
  for (size_t i = 0; i < want.size(); ++i) CHECK(avg[i] == doctest::Approx(want[i]));
  // A key mask hides keys 1 and 2: the last query averages keys 0 and 3.
  const Tensor mask = ne(tensor({1, 0, 0, 1}, {1, 4}), 0.0);
  const std::vector<double> masked = values(attention(Var(zero), Var(zero), Var(vt), false, mask));
  CHECK(masked[6] == doctest::Approx(2.5));
  CHECK(masked[7] == doctest::Approx(25.0));
}

TEST_CASE("attention Var matches the tensor kernel; a fully masked query gets zero gradients") {
  Generator gen(7);
  const Shape shape{2, 2, 6, 4};
  const Tensor qt = randn(shape, gen), kt = randn(shape, gen), vt = randn(shape, gen), dout = randn(shape, gen);
  const Tensor mask = ne(tensor({0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1}, {2, 6}), 0.0);
  const Var q = Var::leaf(qt), k = Var::leaf(kt), v = Var::leaf(vt);
  const Var out = attention(q, k, v, true, mask);
  const AttentionForward f = attention_forward(qt, kt, vt, true, mask);
  CHECK(values(out) == values(f.out));
  out.backward(dout);
  const AttentionGrads g = attention_backward(dout, qt, kt, vt, f.out, f.lse, true, mask);
  CHECK(values(q.grad()) == values(g.dq));
  CHECK(values(k.grad()) == values(g.dk));
  CHECK(values(v.grad()) == values(g.dv));
  // batch 0 hides key 0: its query 0 (each head) outputs zeros and its q gets no gradient
  for (int64_t h = 0; h < 2; ++h) {
    for (double o : values(out.value().select(0, 0).select(0, h).select(0, 0))) CHECK(o == 0.0);
    for (double d : values(q.grad().select(0, 0).select(0, h).select(0, 0))) CHECK(d == 0.0);
  }
  for (const Tensor& t : {q.grad(), k.grad(), v.grad()})
    for (double e : values(t)) CHECK(std::isfinite(e));
}

TEST_CASE("attention_packed: the bits of attention over three selects, and of their summed gradients") {
  // A [B, T, 3, H, D] projection permuted to [3, B, H, T, D], as the GPT's
  // attention makes it; causal, and non-causal with a key mask that leaves one
  // batch entry's first query, and another's every query, seeing nothing.
  Generator gen(8);
  for (DType dt : {DType::f32, DType::f64})
    for (int variant = 0; variant < 3; ++variant) {
      CAPTURE(dt);
      CAPTURE(variant);
      const int64_t B = 3, T = 6, H = 2, D = 4;
      const Tensor packed = randn({B, T, 3, H, D}, gen, dt), dout = randn({B, H, T, D}, gen, dt);
      const bool causal = variant != 1;
      const Tensor mask =
          variant == 0 ? Tensor()
                       : ne(tensor({0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0}, {B, T}), 0.0);
      const Var a = Var::leaf(packed), b = Var::leaf(packed);
      const Var split_a = permute(a, {2, 0, 3, 1, 4}), split_b = permute(b, {2, 0, 3, 1, 4});
      const Var composite =
          attention(select(split_a, 0, 0), select(split_a, 0, 1), select(split_a, 0, 2), causal, mask);
      const Var fused = attention_packed(split_b, causal, mask);
      composite.backward(dout);
      fused.backward(dout);
      auto bits = [](const Tensor& t) {
        const Tensor c = t.contiguous();
        return std::vector<unsigned char>(static_cast<const unsigned char*>(c.data_ptr()),
                                          static_cast<const unsigned char*>(c.data_ptr()) + c.numel() * c.itemsize());
      };
      CHECK(bits(fused.value()) == bits(composite.value()));
      CHECK(bits(b.grad()) == bits(a.grad()));
    }
  CHECK_THROWS_WITH_AS(attention_packed(Var::leaf(zeros({2, 1, 1, 2, 2})), true),
                       "attention_packed: qkv must be [3, B, H, T, D], got shape [2, 1, 1, 2, 2]", Error);
}

TEST_CASE("embedding picks rows and accumulates the gradient of repeated indices") {
  const Var w = Var::leaf(arange(0, 12, 1, DType::f64).view({4, 3}));
  const Tensor idx = from_vector(std::vector<int64_t>{1, 1, 3, 0, 1, 2}, {2, 3});
  const Var e = embedding(idx, w);
  CHECK(e.shape() == Shape{2, 3, 3});
  CHECK(values(e.value().select(0, 0).select(0, 2)) == std::vector<double>{9, 10, 11});
  sum(e).backward();
  // row 1 is used three times, rows 0, 2, 3 once each
  CHECK(values(w.grad()) == std::vector<double>{1, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1});
  CHECK_THROWS_WITH_AS(embedding(tensor({1, 2}), w), "embedding: indices must be i32 or i64, got f32", Error);
  // Out of range: the message comes from the index_select embedding runs on,
  // so it names the index and the vocabulary size but not embedding.
  CHECK_THROWS_WITH_AS(embedding(from_vector(std::vector<int64_t>{4}), w),
                       doctest::Contains("index 4 is out of range for an axis of size 4"), Error);
}

TEST_CASE("dropout: eval mode is the identity; forward and backward share one mask") {
  Generator gen(11);
  const Var x = Var::leaf(uniform({1000}, 0.5, 1.5, gen));
  CHECK(dropout(x, 0.5, gen, false).impl() == x.impl());
  CHECK(dropout(x, 0.0, gen).impl() == x.impl());
  CHECK_THROWS_WITH_AS(dropout(x, 1.0, gen), "dropout: p must be in [0, 1), got 1", Error);

  Generator g(3);
  g.set_offset(40);
  const Var y = dropout(x, 0.3, g);
  CHECK(g.offset() == 40 + 250);  // 1000 f32 elements, 4 a block
  // the same values as the tensor kernel with (seed, offset) = (3, 40)
  CHECK(values(y) == values(dropout(x.value(), 0.3, 3, 40)));
  y.backward(ones_like(y.value()));
  const std::vector<double> xv = values(x), yv = values(y), gv = values(x.grad());
  int dropped = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    dropped += yv[i] == 0;
    // dy/dx is y/x: 1/(1-p) where kept, 0 where dropped
    CHECK(gv[i] == doctest::Approx(yv[i] / xv[i]));
  }
  CHECK(dropped > 200);
  CHECK(dropped < 400);
  // the next call draws fresh blocks, so another mask
  CHECK(values(dropout(x, 0.3, g)) != yv);
}

TEST_CASE("bias_activation on a hand-worked case: silu(1 + 1) and its gradients") {
  const Var x = Var::leaf(tensor({1, 1}, {2, 1}, DType::f64)), b = Var::leaf(tensor({1}, {1}, DType::f64));
  const Var y = bias_activation(x, b, UnaryOp::silu);
  // silu(2) = 2 sigmoid(2); silu'(2) = s + 2 s (1 - s) with s = sigmoid(2)
  const double s = 1 / (1 + std::exp(-2.0));
  for (double v : values(y)) CHECK(v == doctest::Approx(2 * s));
  sum(y).backward();
  for (double g : values(x.grad())) CHECK(g == doctest::Approx(s + 2 * s * (1 - s)));
  CHECK(values(b.grad())[0] == doctest::Approx(2 * (s + 2 * s * (1 - s))));  // the bias serves both rows
  CHECK_THROWS_WITH_AS(bias_activation(x, Var(zeros({3})), UnaryOp::silu),
                       "bias_activation: bias has dtype f32 but x has f64", Error);
  CHECK_THROWS_WITH_AS(bias_activation(x, Var(zeros({3, 1}, DType::f64)), UnaryOp::silu),
                       "bias_activation: shapes [2, 1] and [3, 1] do not broadcast", Error);
}

TEST_CASE("bias_activation has the bits of the bias add and then the activation, forward and backward") {
  // The fused pass against add then the activation's own op, compared exactly:
  // the output and the gradients of x and of the bias, for every activation
  // the layers use, f32 and f64, a bias per column, an ensemble's [K, 1, out]
  // bias, a strided x, enough elements for threads, on the CPU and every other
  // device.
  struct Act {
    UnaryOp op;
    UnaryParams params;
    Var (*apply)(const Var&);
  };
  const std::vector<Act> acts = {
      {UnaryOp::silu, {}, [](const Var& v) { return silu(v); }},
      {UnaryOp::relu, {}, [](const Var& v) { return relu(v); }},
      {UnaryOp::tanh, {}, [](const Var& v) { return tanh(v); }},
      {UnaryOp::sigmoid, {}, [](const Var& v) { return sigmoid(v); }},
      {UnaryOp::gelu_erf, {}, [](const Var& v) { return gelu(v); }},
      {UnaryOp::gelu_tanh, {}, [](const Var& v) { return gelu(v, true); }},
      {UnaryOp::softplus, {2.0, 5.0}, [](const Var& v) { return softplus(v, 2.0, 5.0); }},
  };
  struct Case {
    Shape x, bias;
    bool transposed;
  };
  const std::vector<Case> cases = {
      {{50, 33}, {33}, false}, {{3, 300, 20}, {3, 1, 20}, false}, {{4, 7, 9}, {4, 1, 7}, true}};
  std::vector<Device> devices{Device::cpu};
  for (Device d : testing::devices_to_test()) devices.push_back(d);
  uint64_t seed = 40;
  for (Device device : devices)
    for (DType dt : {DType::f32, DType::f64})
      for (const Act& act : acts)
        for (const Case& c : cases) {
          Generator gen(seed++);
          const Tensor xt = (randn(c.x, gen, dt) * 3.0).to(device), bt = randn(c.bias, gen, dt).to(device);
          const Tensor dy = randn(c.transposed ? Shape{c.x[0], c.x[2], c.x[1]} : c.x, gen, dt).to(device);
          const auto input = [&](const Var& leaf) { return c.transposed ? transpose(leaf, 1, 2) : leaf; };
          const Var x1 = Var::leaf(xt), b1 = Var::leaf(bt), x2 = Var::leaf(xt), b2 = Var::leaf(bt);
          const Var fused = bias_activation(input(x1), b1, act.op, act.params);
          const Var apart = act.apply(input(x2) + b2);
          const std::string what = fmt::format("{} {} {} x {} bias {}", device, dt, op_name(act.op), c.x, c.bias);
          CHECK_MESSAGE(values(fused) == values(apart), what);
          {  // inference: only y is written
            NoGradGuard no_grad;
            CHECK_MESSAGE(values(bias_activation(input(x1), b1, act.op, act.params)) == values(apart), "no grad ",
                          what);
          }
          fused.backward(dy);
          apart.backward(dy);
          CHECK_MESSAGE(values(x1.grad()) == values(x2.grad()), "dx ", what);
          CHECK_MESSAGE(values(b1.grad()) == values(b2.grad()), "dbias ", what);
        }
}

TEST_CASE("add_layer_norm has the bits of add and then layer_norm, forward and backward") {
  // The fused pass against x + r and then layer_norm, compared exactly: the
  // sum, the norm, and the gradients of x, r, weight and bias when both
  // outputs reach the loss (as in a transformer block), f32 and f64, with and
  // without weight and bias, short and long rows, on the CPU and every other
  // device.
  struct Case {
    Shape x;
    bool affine;
  };
  const std::vector<Case> cases = {{{4, 7}, true}, {{2, 9, 128}, true}, {{3, 768}, false}, {{1, 1}, true}};
  std::vector<Device> devices{Device::cpu};
  for (Device d : testing::devices_to_test()) devices.push_back(d);
  uint64_t seed = 70;
  for (Device device : devices)
    for (DType dt : {DType::f32, DType::f64})
      for (const Case& c : cases) {
        Generator gen(seed++);
        const int64_t C = c.x.back();
        const Tensor xt = (randn(c.x, gen, dt) * 3.0).to(device), rt = randn(c.x, gen, dt).to(device);
        const Tensor wt = randn({C}, gen, dt).to(device), bt = randn({C}, gen, dt).to(device);
        const Tensor ds = randn(c.x, gen, dt).to(device), dn = randn(c.x, gen, dt).to(device);
        const Var x1 = Var::leaf(xt), r1 = Var::leaf(rt), x2 = Var::leaf(xt), r2 = Var::leaf(rt);
        const Var w1 = c.affine ? Var::leaf(wt) : Var(), b1 = c.affine ? Var::leaf(bt) : Var();
        const Var w2 = c.affine ? Var::leaf(wt) : Var(), b2 = c.affine ? Var::leaf(bt) : Var();
        const auto [sum1, norm1] = add_layer_norm(x1, r1, w1, b1);
        const Var sum2 = x2 + r2, norm2 = layer_norm(sum2, w2, b2);
        const std::string what = fmt::format("{} {} x {} affine {}", device, dt, c.x, c.affine);
        CHECK_MESSAGE(values(sum1) == values(sum2), "sum ", what);
        CHECK_MESSAGE(values(norm1) == values(norm2), "norm ", what);
        (sum(sum1 * Var(ds)) + sum(norm1 * Var(dn))).backward();
        (sum(sum2 * Var(ds)) + sum(norm2 * Var(dn))).backward();
        CHECK_MESSAGE(values(x1.grad()) == values(x2.grad()), "dx ", what);
        CHECK_MESSAGE(values(r1.grad()) == values(r2.grad()), "dr ", what);
        if (c.affine) {
          CHECK_MESSAGE(values(w1.grad()) == values(w2.grad()), "dweight ", what);
          CHECK_MESSAGE(values(b1.grad()) == values(b2.grad()), "dbias ", what);
        }
      }
  // Mismatched inputs name the op and the shapes.
  const Var x = Var::leaf(zeros({2, 3}, DType::f64));
  CHECK_THROWS_WITH_AS(add_layer_norm(x, Var(zeros({3, 2}, DType::f64)), Var(), Var()),
                       "add_layer_norm: r of shape [3, 2] should be [2, 3]", Error);
  CHECK_THROWS_WITH_AS(add_layer_norm(x, Var(zeros({2, 3})), Var(), Var()),
                       "add_layer_norm: r has dtype f32 but x has f64", Error);
  CHECK_THROWS_WITH_AS(add_layer_norm(x, x, Var(zeros({2}, DType::f64)), Var()),
                       doctest::Contains("add_layer_norm: weight of shape [2] should be [3]"), Error);
}
