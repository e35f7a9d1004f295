// Grades bradley_terry_loss: a hand-worked batch (value and gradients),
// differences of +-100 in f32 (finite loss, right gradient), a gradient check,
// and agreement with the library on a random batch.
#include <fmt/format.h>

#include <cmath>

#include "algorithms/alignment/reward_model.h"
#include "autograd/ops.h"
#include "exercises/bradley_terry_loss/exercise.h"
#include "exercises/grader.h"
#include "tensor/creation.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"bradley_terry_loss", "the reward model's loss mean(-log sigmoid(r_chosen - r_rejected))"};

void grade(Grader& g) {
  g.check("hand-worked value and gradients, r_chosen - r_rejected = (1, -2, 0)", [] {
    // -log sigmoid(d) = log(1 + e^-d): log(1 + e^-1) = 0.3132617, log(1 + e^2) = 2.1269280, log 2 = 0.6931472;
    // mean 1.0444456263737136.
    // d loss / d r_chosen_i = -sigmoid(-d_i) / B = -(0.2689414, 0.8807971, 0.5) / 3; r_rejected: the negatives.
    const Var rc = Var::leaf(f64({1.0, 0.0, -0.5})), rr = Var::leaf(f64({0.0, 2.0, -0.5}));
    const Var loss = bradley_terry_loss(rc, rr);
    expect(loss.numel() == 1, "the loss must be a single value (the mean over the batch)");
    expect_close(loss.item(), 1.0444456263737136, "loss", 1e-12, 1e-10);
    loss.backward();
    expect(rc.grad().defined() && rr.grad().defined(),
           "r_chosen or r_rejected got no gradient (is the loss built from them with autograd ops?)");
    const Tensor want = f64({-0.08964714045666504, -0.29359902599262744, -1.0 / 6.0});
    expect_close(rc.grad(), want, "d loss / d r_chosen", 1e-12, 1e-10);
    expect_close(rr.grad(), neg(want), "d loss / d r_rejected", 1e-12, 1e-10);
  });
  g.check("stable at r_chosen - r_rejected = +100 and -100 in f32: loss 50, gradient (0, -0.5)", [] {
    // -log sigmoid(100) = log(1 + e^-100) ~ 3.7e-44 ~ 0; -log sigmoid(-100) = 100 + log(1 + e^-100) ~ 100;
    // mean 50. d/dr_chosen = -(sigmoid(-100), sigmoid(100)) / 2 ~ (0, -0.5).
    // e^100 overflows f32 (max ~ e^88.7): log(1 + exp(-d)) or log(sigmoid(d)) written naively gives inf or nan.
    const Var rc = Var::leaf(tensor({50, -50}, {2})), rr = Var::leaf(tensor({-50, 50}, {2}));
    const Var loss = bradley_terry_loss(rc, rr);
    expect(std::isfinite(loss.item()),
           fmt::format("the loss is {}, not finite: -log sigmoid(d) must not form exp(-d) for a very negative d "
                       "(see log_sigmoid)",
                       loss.item()));
    expect_close(loss.item(), 50.0, "loss", 1e-4, 1e-6);
    loss.backward();
    expect(rc.grad().defined() && rr.grad().defined(), "r_chosen or r_rejected got no gradient");
    expect_close(rc.grad(), f64({0, -0.5}), "d loss / d r_chosen", 1e-6, 1e-6);
    expect_close(rr.grad(), f64({0, 0.5}), "d loss / d r_rejected", 1e-6, 1e-6);
  });
  g.check("gradcheck wrt both rewards, B = 6", [] {
    Generator gen(7);
    const Tensor rc = mul(randn({6}, gen, DType::f64), 2.0), rr = mul(randn({6}, gen, DType::f64), 2.0);
    expect_gradcheck([](const Vars& v) { return bradley_terry_loss(v[0], v[1]); }, {rc, rr},
                     "d loss / d (r_chosen, r_rejected)");
  });
  g.check("agrees with the library (value and gradients) on a random batch of 64", [] {
    Generator gen(8);
    const Tensor rc = mul(randn({64}, gen, DType::f64), 3.0), rr = mul(randn({64}, gen, DType::f64), 3.0);
    const auto f_lib = [](const Vars& v) { return alignment::bradley_terry_loss(v[0], v[1]); };
    const Var mc = Var::leaf(rc.clone()), mr = Var::leaf(rr.clone());
    const Var loss = bradley_terry_loss(mc, mr);
    expect_close(loss.item(), f_lib({Var(rc), Var(rr)}).item(), "loss", 1e-12, 1e-10);
    loss.backward();
    const std::vector<Tensor> want = library_vjp(f_lib, {rc, rr}, scalar(1.0, DType::f64));
    expect(mc.grad().defined() && mr.grad().defined(), "r_chosen or r_rejected got no gradient");
    expect_close(mc.grad(), want[0], "d loss / d r_chosen", 1e-12, 1e-10);
    expect_close(mr.grad(), want[1], "d loss / d r_rejected", 1e-12, 1e-10);
  });
}
