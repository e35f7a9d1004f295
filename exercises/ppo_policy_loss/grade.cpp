// Grades ppo_policy_loss: a hand-worked batch with one row in each regime of
// the clip (value and gradient), a gradient check away from the clip's kinks,
// and agreement with the library on a random batch.
#include <cmath>

#include "algorithms/rl/ppo.h"
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/ppo_policy_loss/exercise.h"
#include "tensor/creation.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"ppo_policy_loss", "PPO's clipped surrogate, negated: mean max(-A rho, -A clip(rho))"};

namespace {

// The hand-worked batch, clip c = 0.2 (range [0.8, 1.2]); new = old + log rho:
//   row 0: rho = 1.1 (inside),             A =  2: max(-2.2, -2.2) = -2.2, d/dnew = -A rho = -2.2
//   row 1: rho = 1.5 > 1.2,                A =  1: max(-1.5, -1.2) = -1.2, clipped: d/dnew = 0
//   row 2: rho = 0.5 < 0.8,                A = -2: max( 1.0,  1.6) =  1.6, clipped: d/dnew = 0
//   row 3: rho = 1.5 > 1.2 but A < 0,      A = -1: max( 1.5,  1.2) =  1.5, NOT clipped: d/dnew = -A rho = 1.5
// loss = (-2.2 - 1.2 + 1.6 + 1.5) / 4 = -0.075; gradient = (-2.2, 0, 0, 1.5) / 4.
const Tensor kOld = f64({-1.0, -0.5, -2.0, 0.3});
const Tensor kAdv = f64({2, 1, -2, -1});
Tensor hand_new_log_prob() {
  return f64({-1.0 + std::log(1.1), -0.5 + std::log(1.5), -2.0 + std::log(0.5), 0.3 + std::log(1.5)});
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked value: one row inside the clip range, two clipped, one unclipped outside it", [] {
    const Var loss = ppo_policy_loss(Var::leaf(hand_new_log_prob()), kOld, kAdv, 0.2);
    expect(loss.numel() == 1, "the loss must be a single value (the mean over the batch)");
    expect_close(loss.item(), -0.075, "loss", 1e-12, 1e-10);
  });
  g.check("hand-worked gradient wrt new_log_prob: zero where the clipped term is taken", [] {
    const Var new_lp = Var::leaf(hand_new_log_prob());
    ppo_policy_loss(new_lp, kOld, kAdv, 0.2).backward();
    expect(new_lp.grad().defined(), "new_log_prob got no gradient (is the loss built from it with autograd ops?)");
    expect_close(new_lp.grad(), f64({-0.55, 0, 0, 0.375}), "d loss / d new_log_prob", 1e-12, 1e-10);
  });
  g.check("gradcheck wrt new_log_prob, log-ratios away from log(1 +- c)", [] {
    // c = 0.3: kinks at log 0.7 = -0.357 and log 1.3 = 0.262; these log-ratios
    // keep at least 0.04 from both, on both sides, with both signs of A.
    const Tensor old = f64({0.1, -0.7, -1.2, 0.4, -0.3, -2.0, 0.9, -0.1});
    const Tensor adv = f64({1.5, -0.5, 2.0, -1.0, 0.7, -2.5, 1.1, -0.3});
    const Tensor d = f64({-0.6, -0.45, -0.2, 0.0, 0.15, 0.3, 0.5, -0.05});
    const double c = 0.3;
    expect_gradcheck([&](const Vars& v) { return ppo_policy_loss(v[0], old, adv, c); }, {add(old, d)},
                     "d loss / d new_log_prob");
  });
  g.check("agrees with the library (value and gradient) on a random batch of 64, c = 0.2", [] {
    Generator gen(3);
    const Tensor old = randn({64}, gen, DType::f64);
    const Tensor new_lp = add(old, mul(randn({64}, gen, DType::f64), 0.3));
    const Tensor adv = randn({64}, gen, DType::f64);
    const auto f_lib = [&](const Vars& v) { return rl::ppo_policy_loss(v[0], old, adv, 0.2); };
    const Var mine = Var::leaf(new_lp.clone());
    const Var loss = ppo_policy_loss(mine, old, adv, 0.2);
    expect_close(loss.item(), f_lib({Var(new_lp)}).item(), "loss", 1e-12, 1e-10);
    loss.backward();
    const Tensor want = library_vjp(f_lib, {new_lp}, scalar(1.0, DType::f64))[0];
    expect(mine.grad().defined(), "new_log_prob got no gradient");
    expect_close(mine.grad(), want, "d loss / d new_log_prob", 1e-12, 1e-10);
  });
}
