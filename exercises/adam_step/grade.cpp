// Grades adam_step: two hand-worked Adam steps, AdamW's decoupled decay
// against Adam's L2 term, the inputs left unchanged, and twenty steps on a
// random tensor against the library's fused kernel.
#include "exercises/adam_step/exercise.h"
#include "exercises/grader.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"adam_step", "one Adam / AdamW update with bias correction"};

namespace {

AdamHyperparams hyper(int64_t step, double weight_decay = 0, bool decoupled = true) {
  return {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = weight_decay,
          .decoupled = decoupled, .step = step};
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked: two steps from p = 1 with g = 0.5 then g = -1 (lr 0.1, betas 0.9, 0.999)", [] {
    // step 1: m = 0.1 * 0.5 = 0.05, v = 0.001 * 0.25 = 2.5e-4; bc1 = 0.1, bc2 = 0.001;
    //   p = 1 - (0.1 / 0.1) 0.05 / (sqrt(2.5e-4) / sqrt(0.001) + 1e-8) = 1 - 0.05 / 0.50000001 = 0.900000002
    const AdamState s1 = adam_step(f64({1}), f64({0.5}), f64({0}), f64({0}), hyper(1));
    expect_close(s1.m, f64({0.05}), "m after step 1");
    expect_close(s1.v, f64({2.5e-4}), "v after step 1");
    expect_close(s1.param, f64({0.900000002}), "p after step 1");
    // step 2: m = 0.9 * 0.05 - 0.1 = -0.055, v = 0.999 * 2.5e-4 + 0.001 = 1.24975e-3; bc1 = 0.19, bc2 = 0.001999;
    //   p = 0.900000002 - (0.1 / 0.19)(-0.055) / (sqrt(1.24975e-3 / 0.001999) + 1e-8) = 0.9366103542405654
    const AdamState s2 = adam_step(s1.param, f64({-1}), s1.m, s1.v, hyper(2));
    expect_close(s2.m, f64({-0.055}), "m after step 2");
    expect_close(s2.v, f64({1.24975e-3}), "v after step 2");
    expect_close(s2.param, f64({0.9366103542405654}), "p after step 2");
  });
  g.check("weight decay: AdamW shrinks p apart from m and v; Adam adds wd p to g", [] {
    // p = 2, g = 0, wd = 0.5, step 1. AdamW: p = 2 (1 - 0.1 * 0.5) = 1.9, m = v = 0, no further change.
    const AdamState w = adam_step(f64({2}), f64({0}), f64({0}), f64({0}), hyper(1, 0.5, true));
    expect_close(w.param, f64({1.9}), "AdamW p");
    expect_close(w.m, f64({0}), "AdamW m");
    // Adam (L2): g = 0 + 0.5 * 2 = 1, m = 0.1, v = 0.001, p = 2 - 1 * 0.1 / (1 + 1e-8) = 1.900000001
    const AdamState a = adam_step(f64({2}), f64({0}), f64({0}), f64({0}), hyper(1, 0.5, false));
    expect_close(a.m, f64({0.1}), "Adam m");
    expect_close(a.v, f64({0.001}), "Adam v");
    expect_close(a.param, f64({1.900000001}), "Adam p");
  });
  g.check("the inputs are left unchanged", [] {
    const Tensor p = f64({1, 2}), grad = f64({0.5, -0.5}), m = f64({0.1, 0.2}), v = f64({0.3, 0.4});
    const AdamState s = adam_step(p, grad, m, v, hyper(3, 0.01));
    expect_close(p, f64({1, 2}), "param (input)");
    expect_close(m, f64({0.1, 0.2}), "m (input)");
    expect_close(v, f64({0.3, 0.4}), "v (input)");
    expect(s.param.defined() && s.m.defined() && s.v.defined(), "return the new param, m and v");
  });
  g.check("twenty AdamW steps on a random [3, 4] tensor agree with the library's kernel", [] {
    Generator gen(1);
    Tensor p = randn({3, 4}, gen, DType::f64), m = zeros({3, 4}, DType::f64), v = zeros({3, 4}, DType::f64);
    Tensor lp = p.clone(), lm = m.clone(), lv = v.clone();
    for (int64_t t = 1; t <= 20; ++t) {
      const Tensor grad = randn({3, 4}, gen, DType::f64);
      const AdamHyperparams h = hyper(t, 0.01);
      const AdamState s = adam_step(p, grad, m, v, h);
      p = s.param, m = s.m, v = s.v;
      const Tensor lps[] = {lp}, gs[] = {grad}, lms[] = {lm}, lvs[] = {lv};
      adam_step_(lps, gs, lms, lvs, h);
    }
    expect_close(p, lp, "param after 20 steps", 1e-12, 1e-10);
    expect_close(m, lm, "m after 20 steps", 1e-12, 1e-10);
    expect_close(v, lv, "v after 20 steps", 1e-12, 1e-10);
  });
}
