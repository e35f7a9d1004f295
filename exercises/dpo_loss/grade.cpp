// Grades dpo_loss: a hand-worked batch (value and gradients), a gradient check,
// a margin of beta h = +-200 in f32 (finite loss and gradient), and agreement
// with the library on a random batch.
#include <fmt/format.h>

#include <cmath>

#include "algorithms/alignment/dpo.h"
#include "autograd/ops.h"
#include "exercises/dpo_loss/exercise.h"
#include "exercises/grader.h"
#include "tensor/creation.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"dpo_loss", "DPO: mean -log sigmoid(beta [(pi_c - ref_c) - (pi_r - ref_r)])"};

namespace {

// The hand-worked batch, beta = 0.5:
//   pair 0: h = (-1 - (-1.5)) - (-2 - (-1.8)) = 0.5 + 0.2 = 0.7,  beta h = 0.35
//   pair 1: h = (-3 - (-2)) - (-1 - (-1.5)) = -1 - 0.5 = -1.5,    beta h = -0.75
// -log sigmoid(x) = log(1 + exp(-x)): log(1 + e^-0.35) = 0.5333822..., log(1 + e^0.75) = 1.1368710...
// loss = (0.5333822 + 1.1368710) / 2 = 0.8351265807668384
// d loss / d policy_chosen_i = -(beta / B) sigmoid(-beta h_i) = -0.25 sigmoid(-0.35), -0.25 sigmoid(0.75)
//                            = -0.1033456052706675, -0.16979467479384824; policy_rejected: the negatives.
struct HandCase {
  Var pc = Var::leaf(f64({-1, -3})), pr = Var::leaf(f64({-2, -1}));
  Tensor rc = f64({-1.5, -2}), rr = f64({-1.8, -1.5});
};
const double kHandLoss = 0.8351265807668384;
const Tensor kHandGradChosen = f64({-0.1033456052706675, -0.16979467479384824});

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked value, beta = 0.5, h = (0.7, -1.5)", [] {
    HandCase c;
    const Var loss = dpo_loss(c.pc, c.pr, c.rc, c.rr, 0.5);
    expect(loss.numel() == 1, "the loss must be a single value (the mean over the batch)");
    expect_close(loss.item(), kHandLoss, "loss", 1e-12, 1e-10);
  });
  g.check("hand-worked gradient: -(beta / B) sigmoid(-beta h) for chosen, its negative for rejected", [] {
    HandCase c;
    dpo_loss(c.pc, c.pr, c.rc, c.rr, 0.5).backward();
    expect(c.pc.grad().defined() && c.pr.grad().defined(),
           "policy_chosen or policy_rejected got no gradient (is the loss built from them with autograd ops?)");
    expect_close(c.pc.grad(), kHandGradChosen, "d loss / d policy_chosen", 1e-12, 1e-10);
    expect_close(c.pr.grad(), neg(kHandGradChosen), "d loss / d policy_rejected", 1e-12, 1e-10);
  });
  g.check("gradcheck wrt both policy log-probs, beta = 0.7, B = 6", [] {
    Generator gen(4);
    const Tensor pc = randn({6}, gen, DType::f64), pr = randn({6}, gen, DType::f64);
    const Tensor rc = randn({6}, gen, DType::f64), rr = randn({6}, gen, DType::f64);
    expect_gradcheck([&](const Vars& v) { return dpo_loss(v[0], v[1], rc, rr, 0.7); }, {pc, pr},
                     "d loss / d (policy_chosen, policy_rejected)");
  });
  g.check("stable at beta h = +200 and -200 in f32: finite loss 100 and gradient (0, -1)", [] {
    // beta = 2; pair 0: h = (-2 + 52) - (-60 + 10) = 100; pair 1: h = (-102 + 52) - (-3 + 53) = -100.
    // -log sigmoid(200) = log(1 + e^-200) ~ 1.4e-87 ~ 0; -log sigmoid(-200) = 200 + log(1 + e^-200) ~ 200;
    // mean 100. Gradient -(beta / B) sigmoid(-beta h) = -(1) (sigmoid(-200), sigmoid(200)) ~ (0, -1).
    // exp(200) overflows f32 (max ~ e^88.7): log(1 + exp(-x)) or log(sigmoid(x)) written naively gives inf.
    const Var pc = Var::leaf(tensor({-2, -102}, {2})), pr = Var::leaf(tensor({-60, -3}, {2}));
    const Tensor rc = tensor({-52, -52}, {2}), rr = tensor({-10, -53}, {2});
    const Var loss = dpo_loss(pc, pr, rc, rr, 2.0);
    expect(std::isfinite(loss.item()),
           fmt::format("the loss is {}, not finite: -log sigmoid(x) must not form exp(-x) for a very negative x "
                       "(see log_sigmoid)",
                       loss.item()));
    expect_close(loss.item(), 100.0, "loss", 1e-4, 1e-6);
    loss.backward();
    expect(pc.grad().defined() && pr.grad().defined(), "policy_chosen or policy_rejected got no gradient");
    expect_close(pc.grad(), f64({0, -1}), "d loss / d policy_chosen", 1e-6, 1e-6);
    expect_close(pr.grad(), f64({0, 1}), "d loss / d policy_rejected", 1e-6, 1e-6);
  });
  g.check("agrees with the library (value and gradients) on a random batch of 32, beta = 0.1", [] {
    Generator gen(5);
    const Tensor pc = mul(randn({32}, gen, DType::f64), 5.0), pr = mul(randn({32}, gen, DType::f64), 5.0);
    const Tensor rc = mul(randn({32}, gen, DType::f64), 5.0), rr = mul(randn({32}, gen, DType::f64), 5.0);
    const auto f_lib = [&](const Vars& v) {
      return alignment::dpo_loss(v[0], v[1], rc, rr, {.loss = alignment::PreferenceLoss::dpo, .beta = 0.1});
    };
    const Var mc = Var::leaf(pc.clone()), mr = Var::leaf(pr.clone());
    const Var loss = dpo_loss(mc, mr, rc, rr, 0.1);
    expect_close(loss.item(), f_lib({Var(pc), Var(pr)}).item(), "loss", 1e-12, 1e-10);
    loss.backward();
    const std::vector<Tensor> want = library_vjp(f_lib, {pc, pr}, scalar(1.0, DType::f64));
    expect(mc.grad().defined() && mr.grad().defined(), "policy_chosen or policy_rejected got no gradient");
    expect_close(mc.grad(), want[0], "d loss / d policy_chosen", 1e-12, 1e-10);
    expect_close(mr.grad(), want[1], "d loss / d policy_rejected", 1e-12, 1e-10);
  });
}
