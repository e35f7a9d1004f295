// Mixed precision: nn::linear_in in bf16 (its value and its gradients, which
// reach f32 master weights in f32, wired exactly as the bf16 ops compose), a
// bf16 Var whose two gradients add up, and a GPT with matmul_dtype = bf16
// against the same GPT in f32: parameters, gradients and optimiser state stay
// f32, the loss and gradients agree within bf16's precision, training tracks
// the f32 run, and the key/value cache agrees with a full forward.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/node.h"
#include "nn/gpt.h"
#include "optim/adam.h"
#include "tensor/random.h"
#include "tests/error_of.h"

using namespace gradlab;
using namespace gradlab::nn;

namespace {

// Same dtype, shape and values (no NaNs here).
bool equal(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.to_vector<double>() == b.to_vector<double>();
}

Tensor bf16_round(const Tensor& t) { return t.to(DType::bf16).to(t.dtype()); }

// max |a - b| / max |b|.
double relative_error(const Tensor& a, const Tensor& b) {
  const double scale = max(abs(b.to(DType::f64))).item();
  return max(abs(sub(a.to(DType::f64), b.to(DType::f64)))).item() / std::max(scale, 1e-30);
}

}  // namespace

TEST_CASE("linear_in bf16: the value and the f32 gradients are the bf16 ops composed, exactly") {
  Generator gen(3);
  const Var x(randn({5, 16}, gen), true), w(randn({8, 16}, gen), true), b(randn({8}, gen), true);
  const Tensor cotangent = randn({5, 8}, gen);
  const Var y = linear_in(DType::bf16, x, w, b);
  CHECK(y.dtype() == DType::f32);
  const Tensor xh = x.value().to(DType::bf16), wh = w.value().to(DType::bf16), bh = b.value().to(DType::bf16);
  CHECK(equal(y.value(), linear(xh, wh, bh).to(DType::f32)));
  y.backward(cotangent);
  // Backward: the f32 cotangent rounded to bf16, the two GEMMs and the bias sum
  // in bf16 (the sum in f32, rounded once), each widened to its leaf's f32.
  const Tensor dy = cotangent.to(DType::bf16);
  CHECK(x.grad().dtype() == DType::f32);
  CHECK(w.grad().dtype() == DType::f32);
  CHECK(b.grad().dtype() == DType::f32);
  CHECK(equal(x.grad(), matmul(dy, wh).to(DType::f32)));
  CHECK(equal(w.grad(), matmul(dy.mT(), xh).to(DType::f32)));
  CHECK(equal(b.grad(), bf16_round(sum(dy.to(DType::f32), {0}))));
  // Against the f32 layer: within a few bf16 steps (2^-8 relative) of the 16-term sums.
  const Var x2(x.value(), true), w2(w.value(), true), b2(b.value(), true);
  linear(x2, w2, b2).backward(cotangent);
  CHECK(relative_error(y.value(), linear(x.value(), w.value(), b.value())) < 2e-2);
  CHECK(relative_error(x.grad(), x2.grad()) < 2e-2);
  CHECK(relative_error(w.grad(), w2.grad()) < 2e-2);
  // compute = the inputs' dtype is linear itself; a non-floating compute dtype is refused.
  CHECK(linear_in(DType::f32, x, w, b).node()->op->name == std::string("linear"));
  CHECK(gradlab::test::error_of([&] { linear_in(DType::i64, x, w, b); }).find("must be floating") !=
        std::string::npos);
}

TEST_CASE("a bf16 Var used twice: its two gradients are summed in f32 and rounded once") {
  Generator gen(4);
  const Var x(randn({4, 6}, gen), true);
  const Var h = to_dtype(x, DType::bf16);
  CHECK(h.dtype() == DType::bf16);
  const Var y = to_dtype(matmul(h, transpose(h, 0, 1)), DType::f32);
  sum(y).backward();
  // d sum(H H^T) / dH = (1 1^T) H + (1 1^T)^T H: two bf16 products, added in f32 and rounded to bf16.
  const Tensor hv = x.value().to(DType::bf16), ones_h = ones({4, 4}, DType::bf16);
  const Tensor g1 = matmul(ones_h, hv), g2 = matmul(ones_h.mT(), hv);
  CHECK(equal(x.grad(), add(g1.to(DType::f32), g2.to(DType::f32)).to(DType::bf16).to(DType::f32)));
}

TEST_CASE("GPT with matmul_dtype bf16 tracks the f32 GPT; its parameters, gradients and Adam state stay f32") {
  const GPTConfig f32_config{.vocab = 16, .context = 16, .d_model = 32, .heads = 2, .layers = 2};
  GPTConfig bf16_config = f32_config;
  bf16_config.matmul_dtype = DType::bf16;
  Generator g1(7), g2(7);
  GPT full(f32_config, g1), mixed(bf16_config, g2);
  const auto pf = full.parameters(), pm = mixed.parameters();
  REQUIRE(pf.size() == pm.size());
  for (size_t i = 0; i < pf.size(); ++i) REQUIRE(equal(pf[i].value(), pm[i].value()));  // the same start

  Generator data(8);
  const Tensor idx = randint(0, 16, {4, 16}, data), target = randint(0, 16, {4, 16}, data);
  // One step's loss and gradients: within bf16's precision of f32's.
  const Var lf = cross_entropy(full(idx), target), lm = cross_entropy(mixed(idx), target);
  lf.backward();
  lm.backward();
  CHECK(lm.item() != lf.item());  // the products did run in bf16
  CHECK(std::fabs(lm.item() - lf.item()) < 2e-3 * lf.item());  // measured: 1.3e-4
  double worst = 0;
  for (size_t i = 0; i < pf.size(); ++i) {
    CAPTURE(i);
    CHECK(pm[i].dtype() == DType::f32);
    CHECK(pm[i].grad().dtype() == DType::f32);
    worst = std::max(worst, relative_error(pm[i].grad(), pf[i].grad()));
  }
  MESSAGE("loss " << lf.item() << " (f32) and " << lm.item() << " (bf16 products); largest gradient error "
                  << worst << " of the gradient's largest entry");
  CHECK(worst < 0.03);  // measured: 0.009; bf16 keeps 8 significant bits (0.4%)

  // Training on one batch: both overfit it, and the curves stay together.
  optim::AdamW of(pf, {.lr = 3e-3, .weight_decay = 0.0}), om(pm, {.lr = 3e-3, .weight_decay = 0.0});
  double loss_f = 0, loss_m = 0;
  for (int step = 0; step < 150; ++step) {
    for (auto* run : {&full, &mixed}) {
      const Var l = cross_entropy((*run)(idx), target);
      optim::AdamW& opt = run == &full ? of : om;
      opt.zero_grad();
      l.backward();
      opt.step();
      (run == &full ? loss_f : loss_m) = l.item();
    }
  }
  MESSAGE("after 150 steps: f32 loss " << loss_f << ", bf16 products " << loss_m);
  CHECK(loss_f < 0.05);  // measured: 0.0062 both, from 2.88
  CHECK(loss_m < 0.05);
  CHECK(std::fabs(loss_m - loss_f) < 0.01);
  for (const Var& p : pm) CHECK(p.dtype() == DType::f32);

  // The key/value cache runs the same bf16 products as a full forward, row by row.
  NoGradGuard no_grad;
  KVCache cache;
  const Tensor prompt = idx.narrow(0, 0, 2);
  const Tensor step_by_step = mixed.forward_cached(prompt, cache).select(1, -1);
  CHECK(relative_error(step_by_step, mixed(prompt).value().select(1, -1)) < 2e-2);
}

TEST_CASE("GPT: a matmul_dtype that is not floating is refused") {
  Generator gen(1);
  GPTConfig config{.vocab = 8, .context = 4, .d_model = 8, .heads = 2, .layers = 1};
  config.matmul_dtype = DType::i32;
  CHECK(gradlab::test::error_of([&] { GPT(config, gen); }).find("GPT: matmul_dtype must be floating") !=
        std::string::npos);
}
