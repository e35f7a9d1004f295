// Grades sac_temperature_loss: hand-worked value and gradient for a [1] and a
// 0-d log_alpha, a gradient check, and agreement with the library.
#include <cmath>

#include "algorithms/rl/sac.h"
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/sac_temperature_loss/exercise.h"
#include "tensor/creation.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"sac_temperature_loss",
                             "SAC's temperature loss mean(-exp(log_alpha) (log pi + H_target))"};

void grade(Grader& g) {
  g.check("hand-worked value and d/dlog_alpha, log_alpha [1], alpha = 0.2, H_target = -2", [] {
    // log pi + H_target = (-0.5 - 2, 1 - 2, -2.5 - 2) = (-2.5, -1, -4.5), mean -8/3;
    // loss = -0.2 (-8/3) = 0.5333...; d/dlog_alpha = d alpha/dlog_alpha (8/3) = alpha (8/3) = the same 0.5333...
    const Var log_alpha = Var::leaf(f64({std::log(0.2)}));
    const Var loss = sac_temperature_loss(log_alpha, f64({-0.5, 1.0, -2.5}), -2.0);
    expect(loss.numel() == 1, "the loss must be a single value (the mean over the batch)");
    expect_close(loss.item(), 0.2 * 8.0 / 3.0, "loss", 1e-12, 1e-10);
    loss.backward();
    expect(log_alpha.grad().defined(),
           "log_alpha got no gradient (is alpha = exp(log_alpha) built with autograd ops?)");
    expect_close(log_alpha.grad(), f64({0.2 * 8.0 / 3.0}), "d loss / d log_alpha", 1e-12, 1e-10);
  });
  g.check("hand-worked with a 0-d log_alpha, alpha = 0.5, H_target = -3", [] {
    // log pi + H_target = (-1.5 - 3, 0.5 - 3) = (-4.5, -2.5), mean -3.5; loss = -0.5 (-3.5) = 1.75 = d/dlog_alpha.
    const Var log_alpha = Var::leaf(scalar(std::log(0.5), DType::f64));
    const Var loss = sac_temperature_loss(log_alpha, f64({-1.5, 0.5}), -3.0);
    expect(loss.numel() == 1, "the loss must be a single value (the mean over the batch)");
    expect_close(loss.item(), 1.75, "loss", 1e-12, 1e-10);
    loss.backward();
    expect(log_alpha.grad().defined(), "log_alpha got no gradient");
    expect_close(log_alpha.grad(), scalar(1.75, DType::f64), "d loss / d log_alpha", 1e-12, 1e-10);
  });
  g.check("gradcheck wrt log_alpha, B = 5", [] {
    const Tensor log_prob = f64({-1.2, 0.4, -3.0, 2.1, -0.7});
    expect_gradcheck([&](const Vars& v) { return sac_temperature_loss(v[0], log_prob, -1.5); }, {f64({0.3})},
                     "d loss / d log_alpha");
  });
  g.check("agrees with the library (value and gradient) on a random batch of 256, H_target = -6", [] {
    Generator gen(6);
    const Tensor log_prob = sub(mul(randn({256}, gen, DType::f64), 2.0), 5.0);
    const Tensor la = f64({-1.7});
    const auto f_lib = [&](const Vars& v) { return rl::sac_temperature_loss(v[0], log_prob, -6.0); };
    const Var mine = Var::leaf(la.clone());
    const Var loss = sac_temperature_loss(mine, log_prob, -6.0);
    expect_close(loss.item(), f_lib({Var(la)}).item(), "loss", 1e-12, 1e-10);
    loss.backward();
    expect(mine.grad().defined(), "log_alpha got no gradient");
    expect_close(mine.grad(), library_vjp(f_lib, {la}, scalar(1.0, DType::f64))[0], "d loss / d log_alpha", 1e-12,
                 1e-10);
  });
}
