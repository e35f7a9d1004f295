// Grades linear_backward: a hand-worked two-row case, a Linear layer with the
// student's backward against central differences, and agreement with the
// library's autograd on a random batch.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/linear_backward/exercise.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"linear_backward", "dx, dW and db of y = x W^T + b"};

namespace {

GL_OP(kLinearYourBackward, "linear with your backward");

Var linear_with_your_backward(const Var& x, const Var& w, const Var& b) {
  const Tensor y = add(matmul(x.value(), w.value().mT()), b.value());
  return record(kLinearYourBackward, y, {x, w, b}, {x.value(), w.value()},
                [](const GradContext& g) -> std::vector<Tensor> {
                  const LinearGrads grads = linear_backward(g.dout, g.saved[0], g.saved[1]);
                  return {grads.dx, grads.dweight, grads.dbias};
                });
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked: x [2, 2], W [3, 2], dout [2, 3]", [] {
    const Tensor x = f64({1, 2, 3, -1}, {2, 2});
    const Tensor w = f64({1, 0, 0, 1, 1, 1}, {3, 2});
    const Tensor dout = f64({1, 2, 3, 0, 1, -1}, {2, 3});
    const LinearGrads r = linear_backward(dout, x, w);
    // dx row 0 = 1 [1, 0] + 2 [0, 1] + 3 [1, 1] = [4, 5]; row 1 = 0 [1, 0] + 1 [0, 1] - 1 [1, 1] = [-1, 0]
    expect_close(r.dx, f64({4, 5, -1, 0}, {2, 2}), "dx");
    // dW row j = sum_n dout[n, j] x[n]: [1, 2]; 2 [1, 2] + [3, -1] = [5, 3]; 3 [1, 2] - [3, -1] = [0, 7]
    expect_close(r.dweight, f64({1, 2, 5, 3, 0, 7}, {3, 2}), "dweight");
    // db = the column sums of dout
    expect_close(r.dbias, f64({1, 3, 2}), "dbias");
  });
  g.check("gradcheck: a Linear layer with your backward, x [4, 3], W [5, 3], b [5]", [] {
    Generator gen(1);
    expect_gradcheck([](const Vars& v) { return linear_with_your_backward(v[0], v[1], v[2]); },
                     {randn({4, 3}, gen, DType::f64), randn({5, 3}, gen, DType::f64), randn({5}, gen, DType::f64)},
                     "d linear / d(x, W, b)");
  });
  g.check("agrees with the library's autograd on x [7, 6], W [4, 6]", [] {
    Generator gen(2);
    const Tensor x = randn({7, 6}, gen, DType::f64), w = randn({4, 6}, gen, DType::f64);
    const Tensor b = randn({4}, gen, DType::f64), dout = randn({7, 4}, gen, DType::f64);
    const std::vector<Tensor> want =
        library_vjp([](const Vars& v) { return linear(v[0], v[1], v[2]); }, {x, w, b}, dout);
    const LinearGrads r = linear_backward(dout, x, w);
    expect_close(r.dx, want[0], "dx", 1e-12, 1e-10);
    expect_close(r.dweight, want[1], "dweight", 1e-12, 1e-10);
    expect_close(r.dbias, want[2], "dbias", 1e-12, 1e-10);
  });
}
