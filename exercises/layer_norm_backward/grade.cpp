// Grades layer_norm_backward: a hand-worked row, layer norm with the student's
// backward against central differences (with and without a weight), and
// agreement with the library's autograd.
#include <cmath>

#include "autograd/node.h"
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/layer_norm_backward/exercise.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"layer_norm_backward", "dx, dweight and dbias of layer normalisation"};

namespace {

GL_OP(kLayerNormYourBackward, "layer_norm with your backward");

// weight and bias may be undefined Vars (no affine part).
Var layer_norm_with_your_backward(const Var& x, const Var& weight, const Var& bias) {
  const Tensor w = weight.defined() ? weight.value() : Tensor(), b = bias.defined() ? bias.value() : Tensor();
  const LayerNormForward f = layer_norm_forward(x.value(), w, b, 1e-5);
  std::vector<Var> inputs{x};
  if (weight.defined()) inputs.push_back(weight), inputs.push_back(bias);
  return record(kLayerNormYourBackward, f.y, inputs, {x.value(), w, f.mean, f.rstd},
                [affine = weight.defined()](const GradContext& g) -> std::vector<Tensor> {
                  const LayerNormGrads r = exercise::layer_norm_backward(g.dout, g.saved[0], g.saved[1], g.saved[2], g.saved[3]);
                  if (!affine) return {r.dx};
                  return {r.dx, r.dweight, r.dbias};
                });
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked: one row x = [1, 2, 3], weight = [1, 2, 1], dy = [1, 0, 0], eps = 0", [] {
    // mean 2, biased variance 2/3, rstd = sqrt(3/2); xhat = [-r, 0, r] with r = sqrt(3/2) = 1.2247448713915890
    const double r = std::sqrt(1.5);
    const LayerNormGrads got =
        exercise::layer_norm_backward(f64({1, 0, 0}, {1, 3}), f64({1, 2, 3}, {1, 3}), f64({1, 2, 1}), f64({2}), f64({r}));
    // g = dy weight = [1, 0, 0]; mean(g) = 1/3; mean(g xhat) = -r/3;
    // dx = r ([1, 0, 0] - 1/3 - xhat (-r/3)) = r [1 - 1/3 - 1/2, -1/3, -1/3 + 1/2] = r [1/6, -1/3, 1/6]
    expect_close(got.dx, f64({r / 6, -r / 3, r / 6}, {1, 3}), "dx");
    expect_close(got.dweight, f64({-r, 0, 0}), "dweight");  // dy xhat
    expect_close(got.dbias, f64({1, 0, 0}), "dbias");       // dy
  });
  g.check("gradcheck: layer_norm with your backward, x [3, 5], weight and bias [5]", [] {
    Generator gen(1);
    expect_gradcheck([](const Vars& v) { return layer_norm_with_your_backward(v[0], v[1], v[2]); },
                     {randn({3, 5}, gen, DType::f64), randn({5}, gen, DType::f64), randn({5}, gen, DType::f64)},
                     "d layer_norm / d(x, weight, bias)");
  });
  g.check("gradcheck: without weight and bias (g = dy), x [4, 6]", [] {
    Generator gen(2);
    expect_gradcheck([](const Vars& v) { return layer_norm_with_your_backward(v[0], Var(), Var()); },
                     {randn({4, 6}, gen, DType::f64)}, "d layer_norm / dx");
  });
  g.check("agrees with the library's autograd on x [8, 16] with a random dy", [] {
    Generator gen(3);
    const Tensor x = add(mul(randn({8, 16}, gen, DType::f64), 3.0), 1.0);
    const Tensor w = randn({16}, gen, DType::f64), b = randn({16}, gen, DType::f64);
    const Tensor dy = randn({8, 16}, gen, DType::f64);
    const std::vector<Tensor> want =
        library_vjp([](const Vars& v) { return layer_norm(v[0], v[1], v[2], 1e-5); }, {x, w, b}, dy);
    const LayerNormForward f = layer_norm_forward(x, w, b, 1e-5);
    const LayerNormGrads got = exercise::layer_norm_backward(dy, x, w, f.mean, f.rstd);
    expect_close(got.dx, want[0], "dx", 1e-11, 1e-9);
    expect_close(got.dweight, want[1], "dweight", 1e-11, 1e-9);
    expect_close(got.dbias, want[2], "dbias", 1e-11, 1e-9);
  });
}
