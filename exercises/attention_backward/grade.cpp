// Grades attention_backward: a hand-worked two-token causal case, attention
// with the student's backward against central differences (causal and not),
// and agreement with the library's autograd.
#include <cmath>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "exercises/attention_backward/exercise.h"
#include "exercises/grader.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"attention_backward", "dq, dk and dv of softmax(q k^T / sqrt(D)) v"};

namespace {

GL_OP(kAttentionYourBackward, "attention with your backward");

Var attention_with_your_backward(const Var& q, const Var& k, const Var& v, bool causal) {
  const AttentionForward f = attention_forward(q.value(), k.value(), v.value(), causal);
  return record(kAttentionYourBackward, f.out, {q, k, v}, {q.value(), k.value(), v.value(), f.out, f.lse},
                [causal](const GradContext& g) -> std::vector<Tensor> {
                  const AttentionGrads r = exercise::attention_backward(g.dout, g.saved[0], g.saved[1], g.saved[2],
                                                                        g.saved[3], g.saved[4], causal);
                  return {r.dq, r.dk, r.dv};
                });
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked: B = H = 1, T = 2, D = 1, causal", [] {
    const double ln3 = std::log(3.0);
    // q = [1, 1], k = [0, ln 3], v = [2, 6]; D = 1, so S = q k^T.
    // Query 0 sees key 0 only: P = [1, 0], out = 2, lse = 0.
    // Query 1: S = [0, ln 3], P = [1/4, 3/4], out = 1/2 + 9/2 = 5, lse = ln 4.
    const Tensor q = f64({1, 1}, {1, 1, 2, 1}), k = f64({0, ln3}, {1, 1, 2, 1}), v = f64({2, 6}, {1, 1, 2, 1});
    const Tensor out = f64({2, 5}, {1, 1, 2, 1}), lse = f64({0, std::log(4.0)}, {1, 1, 2});
    const Tensor dout = f64({1, 1}, {1, 1, 2, 1});
    const AttentionGrads r = exercise::attention_backward(dout, q, k, v, out, lse, true);
    // dv = P^T dout: [1 + 1/4, 3/4]
    expect_close(r.dv, f64({1.25, 0.75}, {1, 1, 2, 1}), "dv");
    // dP = dout v^T: row 0 [2, -], row 1 [2, 6]; rowsum(dout out) = [2, 5]
    // dS row 0 = [1 (2 - 2), 0] = [0, 0]; row 1 = [1/4 (2 - 5), 3/4 (6 - 5)] = [-3/4, 3/4]
    // dq = dS k: [0, -3/4 0 + 3/4 ln 3]; dk = dS^T q: [0 - 3/4, 3/4]
    expect_close(r.dq, f64({0, 0.75 * ln3}, {1, 1, 2, 1}), "dq");
    expect_close(r.dk, f64({-0.75, 0.75}, {1, 1, 2, 1}), "dk");
  });
  g.check("gradcheck: causal attention with your backward, [1, 2, 4, 3]", [] {
    Generator gen(1);
    expect_gradcheck([](const Vars& x) { return attention_with_your_backward(x[0], x[1], x[2], true); },
                     {randn({1, 2, 4, 3}, gen, DType::f64), randn({1, 2, 4, 3}, gen, DType::f64),
                      randn({1, 2, 4, 3}, gen, DType::f64)},
                     "d attention / d(q, k, v)");
  });
  g.check("gradcheck: non-causal attention with your backward, [2, 1, 3, 2]", [] {
    Generator gen(2);
    expect_gradcheck([](const Vars& x) { return attention_with_your_backward(x[0], x[1], x[2], false); },
                     {randn({2, 1, 3, 2}, gen, DType::f64), randn({2, 1, 3, 2}, gen, DType::f64),
                      randn({2, 1, 3, 2}, gen, DType::f64)},
                     "d attention / d(q, k, v)");
  });
  g.check("agrees with the library's autograd, causal, [2, 2, 7, 4]", [] {
    Generator gen(3);
    const Tensor q = randn({2, 2, 7, 4}, gen, DType::f64), k = randn({2, 2, 7, 4}, gen, DType::f64);
    const Tensor v = randn({2, 2, 7, 4}, gen, DType::f64), dout = randn({2, 2, 7, 4}, gen, DType::f64);
    const std::vector<Tensor> want =
        library_vjp([](const Vars& x) { return attention(x[0], x[1], x[2], true); }, {q, k, v}, dout);
    const AttentionForward f = attention_forward(q, k, v, true);
    const AttentionGrads r = exercise::attention_backward(dout, q, k, v, f.out, f.lse, true);
    expect_close(r.dq, want[0], "dq", 1e-11, 1e-9);
    expect_close(r.dk, want[1], "dk", 1e-11, 1e-9);
    expect_close(r.dv, want[2], "dv", 1e-11, 1e-9);
  });
}
