// Thread-count determinism of a short GPT training run (dropout, AdamW,
// gradient-norm clipping): the same seed on one thread and on two threads
// gives the same losses, gradients and final weights, bit for bit; the
// gradient norm agrees to the last few bits (see below). The model is sized
// so that the kernels really split their work across two threads.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "nn/gpt.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::nn;

namespace {

struct GPTRun {
  std::vector<double> losses, grad_norms;
  std::vector<Tensor> grads;    // every parameter's gradient at the last step, before clipping
  std::vector<Tensor> weights;  // after the last step
};

// B x T = 512 rows of d_model 128: LayerNorm's backward (65,536 elements),
// GELU on [512, 512], cross-entropy, attention, dropout and the GEMMs all go
// parallel, and the 128 x 512 MLP weights (65,536 elements) are above the
// grain of the sum that clip_grad_norm takes.
GPTRun train_gpt(int threads) {
  const test::ThreadCountGuard pin(threads);
  Generator gen(11);
  GPT gpt({.vocab = 64, .context = 32, .d_model = 128, .heads = 4, .layers = 2, .dropout = 0.1, .seed = 5}, gen);
  optim::AdamW opt(gpt.parameters(), {.lr = 1e-3});
  const Tensor idx = randint(0, 64, {16, 32}, gen), target = randint(0, 64, {16, 32}, gen);
  GPTRun run;
  const int steps = 8;
  for (int step = 0; step < steps; ++step) {  // fitting one batch, so the loss falls
    const Var loss = cross_entropy(gpt(idx), target);
    opt.zero_grad();
    loss.backward();
    if (step == steps - 1)
      for (const Var& p : gpt.parameters()) run.grads.push_back(p.grad().clone());
    run.grad_norms.push_back(optim::clip_grad_norm(opt.params(), 1.0));
    opt.step();
    run.losses.push_back(loss.item());
  }
  for (const Var& p : gpt.parameters()) run.weights.push_back(p.value().clone());
  return run;
}

void check_same_tensors(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].to_vector<float>() == b[i].to_vector<float>());
  }
}

}  // namespace

TEST_CASE("a short GPT training run gives the same bits on one thread and on two") {
  // A count neither run uses, to see that each run's guard restores it.
  const test::ThreadCountGuard outer(3);
  const GPTRun one = train_gpt(1), two = train_gpt(2), two_again = train_gpt(2);
  CHECK(num_threads() == 3);
  // The run trains: the loss starts near log(64) = 4.16 and falls.
  REQUIRE(one.losses.size() == 8);
  CHECK(one.losses.front() > 3.9);
  CHECK(one.losses.back() < one.losses.front() - 0.5);

  // One thread against two: the same losses, gradients and weights.
  CHECK(one.losses == two.losses);
  check_same_tensors(one.grads, two.grads);
  check_same_tensors(one.weights, two.weights);
  // The gradient norm is the one value that may differ: clip_grad_norm sums
  // the squares of each gradient in f64 with `sum`, and a sum over more than
  // kGrainElementwise (32,768) elements in one row takes the long-row path of
  // tensor/cpu/reduce.cpp (reduce_run), which adds one partial sum per thread,
  // so the 128 x 512 MLP weights' total is rounded differently on two threads
  // (we see up to 4.4e-16 relative). The clipping scale is applied in f32,
  // where that difference vanishes, which is why the weights above still agree.
  REQUIRE(one.grad_norms.size() == two.grad_norms.size());
  for (size_t i = 0; i < one.grad_norms.size(); ++i) {
    CAPTURE(i);
    CHECK(one.grad_norms[i] > 1.0);  // clipping is active at every step
    CHECK(std::abs(one.grad_norms[i] - two.grad_norms[i]) <= 1e-14 * one.grad_norms[i]);
  }

  // The same thread count twice: every bit, the norms included.
  CHECK(two.losses == two_again.losses);
  CHECK(two.grad_norms == two_again.grad_norms);
  check_same_tensors(two.grads, two_again.grads);
  check_same_tensors(two.weights, two_again.weights);
}
