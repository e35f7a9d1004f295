// Grades rnd_reward: hand-set target and predictor networks with errors worked
// out by hand, agreement with the library on a freshly built RND (whose
// observation statistics must not be applied a second time), and the gradient:
// the predictor's parameters get the library's, the frozen target's none.
// (The networks are f32 MLPs, so the gradient is compared with the library's
// rather than checked against central differences in f64.)
#include <fmt/format.h>

#include <cmath>

#include "algorithms/rl/curiosity/rnd.h"
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/rnd_reward/exercise.h"
#include "tensor/creation.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;
using gradlab::rl::curiosity::CuriosityOptions;
using gradlab::rl::curiosity::RND;

const ExerciseInfo kExercise{"rnd_reward", "RND's intrinsic reward ||f^(x) - f(x)||^2 per row"};

namespace {

CuriosityOptions options(int64_t D, int64_t hidden, int64_t F) {
  CuriosityOptions o;
  o.obs_dim = D;
  o.n_actions = 2;
  o.hidden = hidden;
  o.feature_dim = F;
  return o;
}

void set(const Var& p, const Tensor& value) {
  Tensor t = p.value();
  t.copy_(value);
}

// Gives a freshly built RND's observation statistics data of mean ~3 and std
// ~2, so that normalising x a second time would change the answer.
void see_observations(RND& rnd, uint64_t seed) {
  Generator gen(seed);
  rnd.obs_stats.update_batch(add(mul(randn({64, 4}, gen), 2.0), 3.0));
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-set networks: errors (5, 2.5), summed over the features", [] {
    // D = hidden = F = 2, weights [out, in], ReLU between layers.
    // Target f: W0 = I, b0 = (0, 0.5); W1 = [[1, 1], [0, -1]], b1 = (0, 1).
    //   x = (3, -1):   h = relu(3, -0.5) = (3, 0);     f = (3 + 0, -0 + 1)   = (3, 1)
    //   x = (0.5, 2):  h = relu(0.5, 2.5) = (0.5, 2.5); f = (0.5 + 2.5, -2.5 + 1) = (3, -1.5)
    // Predictor f^: W0 = W1 = I, b0 = b1 = 0; W2 = [[1, 0], [0, 0]], b2 = (1, -1): f^ = (relu(x_0) + 1, -1)
    //   x = (3, -1):   f^ = (4, -1);   f^ - f = (1, -2)     -> 1 + 4 = 5
    //   x = (0.5, 2):  f^ = (1.5, -1); f^ - f = (-1.5, 0.5) -> 2.25 + 0.25 = 2.5
    // (The mean over the features would give (2.5, 1.25).)
    RND rnd(options(2, 2, 2), 1);
    set(rnd.target.layers()[0]->weight, eye(2));
    set(rnd.target.layers()[0]->bias, tensor({0, 0.5}, {2}));
    set(rnd.target.layers()[1]->weight, tensor({1, 1, 0, -1}, {2, 2}));
    set(rnd.target.layers()[1]->bias, tensor({0, 1}, {2}));
    set(rnd.predictor.layers()[0]->weight, eye(2));
    set(rnd.predictor.layers()[0]->bias, zeros({2}));
    set(rnd.predictor.layers()[1]->weight, eye(2));
    set(rnd.predictor.layers()[1]->bias, zeros({2}));
    set(rnd.predictor.layers()[2]->weight, tensor({1, 0, 0, 0}, {2, 2}));
    set(rnd.predictor.layers()[2]->bias, tensor({1, -1}, {2}));
    const Var err = distillation_error(rnd, tensor({3, -1, 0.5, 2}, {2, 2}));
    expect_close(err.value(), f64({5, 2.5}), "error", 1e-5, 1e-6);
  });
  g.check("agrees with the library on a freshly built RND (D = 4, hidden 16, F = 8), x used as given", [] {
    RND rnd(options(4, 16, 8), 11);
    see_observations(rnd, 111);
    Generator gen(12);
    const Tensor x = randn({6, 4}, gen);
    const Var err = distillation_error(rnd, x);
    expect_close(err.value(), rnd.distillation_error(x).value(), "error", 1e-5, 1e-5);
  });
  g.check("the gradient reaches the predictor's parameters (as the library's) and not the target's", [] {
    // Two identical RNDs (same seed): one differentiated through your function,
    // one through the library's, with the same random weighting of the rows.
    RND mine(options(4, 16, 8), 13), lib(options(4, 16, 8), 13);
    see_observations(mine, 113);
    see_observations(lib, 113);
    // The target is frozen, so its parameters would get no gradient anyway;
    // here they are made trainable, so that only stopping the gradient at the
    // target's output (as RND must) keeps them out of it.
    for (const Var& p : mine.target.parameters()) p.requires_grad_(true);
    for (const Var& p : lib.target.parameters()) p.requires_grad_(true);
    Generator gen(14);
    const Tensor x = randn({5, 4}, gen), w = rand({5}, gen);
    sum(distillation_error(mine, x) * Var(w)).backward();
    sum(lib.distillation_error(x) * Var(w)).backward();
    const auto mp = mine.predictor.named_parameters(), lp = lib.predictor.named_parameters();
    for (size_t k = 0; k < mp.size(); ++k) {
      const std::string what = fmt::format("d loss / d predictor.{}", mp[k].first);
      expect(mp[k].second.grad().defined(), what + " is undefined: the error must be computed from the predictor");
      expect_close(mp[k].second.grad(), lp[k].second.grad(), what, 1e-5, 1e-4);
    }
    for (const auto& [name, p] : mine.target.named_parameters()) {
      if (!p.grad().defined()) continue;
      expect(max(abs(p.grad())).item() == 0.0,
             fmt::format("target.{} got a gradient: the target is fixed (detach its output)", name));
    }
  });
}
