// Grades gelu_backward: hand-worked values, gelu with the student's backward
// against central differences, and agreement with the library's autograd.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "exercises/gelu_backward/exercise.h"
#include "exercises/grader.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"gelu_backward", "the backward of y = x Phi(x)"};

namespace {

GL_OP(kGeluYourBackward, "gelu with your backward");

// gelu whose backward is the student's function.
Var gelu_with_your_backward(const Var& x) {
  Tensor y = gelu(x.value());
  return record(kGeluYourBackward, y, {x}, {x.value(), y}, [](const GradContext& g) -> std::vector<Tensor> {
    return {gelu_backward(g.saved[0], g.saved[1], g.dout)};
  });
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked: x = [0, 1, -1, 2, -3], dout = [1, 1, 2, 0.5, 1]", [] {
    const Tensor x = f64({0, 1, -1, 2, -3});
    // Phi(0) = 1/2; Phi(1) + phi(1) = 0.8413447 + 0.2419707; 2 (Phi(-1) - phi(1)); ...
    const Tensor want = f64({0.5, 1.0833154705876864, -0.16663094117537258, 0.5426159005390985, -0.01194564720418392});
    expect_close(gelu_backward(x, gelu(x), f64({1, 1, 2, 0.5, 1})), want, "dx");
  });
  g.check("gradcheck: gelu with your backward, x in [-3, 3], shape [3, 5]", [] {
    Generator gen(1);
    const Tensor x = mul(sub(rand({3, 5}, gen, DType::f64), 0.5), 6.0);
    expect_gradcheck([](const Vars& v) { return gelu_with_your_backward(v[0]); }, {x}, "d gelu / dx");
  });
  g.check("agrees with the library's autograd on [4, 7] with a random dout", [] {
    Generator gen(2);
    const Tensor x = randn({4, 7}, gen, DType::f64), dout = randn({4, 7}, gen, DType::f64);
    const Tensor want = library_vjp([](const Vars& v) { return gelu(v[0]); }, {x}, dout)[0];
    expect_close(gelu_backward(x, gelu(x), dout), want, "dx", 1e-12, 1e-10);
  });
}
