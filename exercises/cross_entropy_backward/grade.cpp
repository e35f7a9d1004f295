// Grades cross_entropy_backward: hand-worked rows (one ignored), per-row
// cross-entropy with the student's backward against central differences, and
// agreement with the library's autograd (mean over the kept rows).
#include <cmath>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "exercises/cross_entropy_backward/exercise.h"
#include "exercises/grader.h"
#include "tensor/fused_losses.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"cross_entropy_backward", "d cross-entropy / d logits = softmax - onehot"};

namespace {

GL_OP(kCrossEntropyYourBackward, "cross_entropy with your backward");

// Per-row losses [N] whose backward is the student's.
Var cross_entropy_with_your_backward(const Var& logits, const Tensor& target) {
  const CrossEntropyForward f = cross_entropy_forward(logits.value(), target);
  return record(kCrossEntropyYourBackward, f.loss, {logits}, {logits.value(), target, f.lse},
                [](const GradContext& g) -> std::vector<Tensor> {
                  return {exercise::cross_entropy_backward(g.saved[0], g.saved[1], g.saved[2], g.dout)};
                });
}

Tensor i64(std::initializer_list<double> values) { return tensor(values, {}, DType::i64); }

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked: three rows, the last one ignored", [] {
    const double ln3 = std::log(3.0);
    // row 0: logits [0, 0] -> softmax [1/2, 1/2], target 1, dloss 1: [1/2, -1/2]
    // row 1: logits [0, ln 3] -> softmax [1/4, 3/4], target 0, dloss 2: 2 [1/4 - 1, 3/4] = [-3/2, 3/2]
    // row 2: target -1 (ignored): [0, 0]
    const Tensor logits = f64({0, 0, 0, ln3, 5, -5}, {3, 2});
    const Tensor lse = f64({std::log(2.0), std::log(4.0), std::log(std::exp(5.0) + std::exp(-5.0))});
    const Tensor got = exercise::cross_entropy_backward(logits, i64({1, 0, -1}), lse, f64({1, 2, 7}));
    expect_close(got, f64({0.5, -0.5, -1.5, 1.5, 0, 0}, {3, 2}), "dlogits");
  });
  g.check("large logits: softmax from lse does not overflow (logits around 1000)", [] {
    // logits [1000, 1000 + ln 3]: softmax [1/4, 3/4] as in row 1 above; exp(1000) alone would be inf.
    const Tensor logits = f64({1000, 1000 + std::log(3.0)}, {1, 2});
    const Tensor got =
        exercise::cross_entropy_backward(logits, i64({1}), f64({1000 + std::log(4.0)}), f64({1}));
    expect_close(got, f64({0.25, -0.25}, {1, 2}), "dlogits", 1e-9, 1e-7);
  });
  g.check("gradcheck: per-row cross-entropy with your backward, logits [4, 5]", [] {
    Generator gen(1);
    const Tensor target = i64({3, 0, -1, 4});
    expect_gradcheck([target](const Vars& v) { return cross_entropy_with_your_backward(v[0], target); },
                     {randn({4, 5}, gen, DType::f64)}, "d loss / d logits");
  });
  g.check("agrees with the library's autograd (mean over kept rows), logits [6, 7]", [] {
    Generator gen(2);
    const Tensor logits = mul(randn({6, 7}, gen, DType::f64), 2.0);
    const Tensor target = i64({6, 2, -100, 0, 3, 3});  // -100: cross_entropy's ignore_index
    const Tensor want = library_vjp([target](const Vars& v) { return cross_entropy(v[0], target); }, {logits},
                                    scalar(1.0, DType::f64))[0];
    // the mean over the 5 kept rows: dloss_n = 1/5 for each
    const CrossEntropyForward f = cross_entropy_forward(logits, target);
    const Tensor got = exercise::cross_entropy_backward(logits, target, f.lse, full({6}, 0.2, DType::f64));
    expect_close(got, want, "dlogits", 1e-12, 1e-10);
  });
}
