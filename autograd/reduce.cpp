// Differentiable reductions. Each backward first views the output gradient
// with the reduced axes kept (size 1), then broadcasts it back over them.
#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace gradlab {

namespace {

// x's shape with the reduced axes set to 1 (all axes when `axes` is empty).
Shape kept_shape(const Shape& shape, const Axes& axes) {
  Shape k = shape;
  if (axes.empty()) {
    for (int i = 0; i < k.size(); ++i) k[i] = 1;
  } else {
    for (int64_t a : axes) k[wrap_axis(a, shape.size(), "reduce")] = 1;
  }
  return k;
}

// The output gradient broadcast over the reduced axes of the input.
Tensor spread(const Tensor& dout, const Shape& kept, const Shape& input) { return dout.reshape(kept).expand(input); }

}  // namespace

GL_OP(kSum, "sum");
GL_OP(kMean, "mean");
GL_OP(kMax, "max");
GL_OP(kMin, "min");
GL_OP(kVar, "var");
GL_OP(kLogsumexp, "logsumexp");
GL_OP(kNorm, "norm");

Var sum(const Var& x, const Axes& axes, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), axes);
  return record(kSum, sum(x.value(), axes, keepdim), {x}, {},
                [kept](const GradContext& g) -> std::vector<Tensor> { return {spread(g.dout, kept, g.shapes[0])}; });
}

Var mean(const Var& x, const Axes& axes, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), axes);
  const double count = double(x.numel()) / double(std::max<int64_t>(kept.numel(), 1));
  return record(kMean, mean(x.value(), axes, keepdim), {x}, {},
                [kept, count](const GradContext& g) -> std::vector<Tensor> {
                  return {spread(div(g.dout, count), kept, g.shapes[0])};
                });
}

namespace {
// max/min: the gradient goes to the elements equal to the result, split evenly among ties.
Var extremum(const OpInfo& op, bool is_max, const Var& x, const Axes& axes, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), axes);
  Tensor y = is_max ? max(x.value(), axes, keepdim) : min(x.value(), axes, keepdim);
  return record(op, y, {x}, {x.value(), y}, [kept, axes](const GradContext& g) -> std::vector<Tensor> {
    const Tensor& xv = g.saved[0];
    const Tensor hit = eq(xv, g.saved[1].reshape(kept)).to(xv.dtype());
    const Tensor count = sum(hit, axes, true);
    return {mul(hit, div(g.dout.reshape(kept), count))};
  });
}
}  // namespace

Var max(const Var& x, const Axes& axes, bool keepdim) { return extremum(kMax, true, x, axes, keepdim); }
Var min(const Var& x, const Axes& axes, bool keepdim) { return extremum(kMin, false, x, axes, keepdim); }

Var var(const Var& x, const Axes& axes, bool keepdim, int64_t correction) {
  const Shape kept = kept_shape(x.shape(), axes);
  const double count = double(x.numel()) / double(std::max<int64_t>(kept.numel(), 1));
  // d var / dx_i = 2 (x_i - mean) / (N - correction)
  return record(kVar, var(x.value(), axes, keepdim, correction), {x}, {x.value()},
                [kept, axes, count, correction](const GradContext& g) -> std::vector<Tensor> {
                  const Tensor& xv = g.saved[0];
                  const Tensor centred = sub(xv, mean(xv, axes, true));
                  return {mul(centred, div(g.dout.reshape(kept), (count - double(correction)) / 2.0))};
                });
}

Var logsumexp(const Var& x, const Axes& axes, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), axes);
  Tensor y = logsumexp(x.value(), axes, keepdim);
  // d lse / dx_i = softmax(x)_i = exp(x_i - lse)
  return record(kLogsumexp, y, {x}, {x.value(), y}, [kept](const GradContext& g) -> std::vector<Tensor> {
    return {mul(exp(sub(g.saved[0], g.saved[1].reshape(kept))), g.dout.reshape(kept))};
  });
}

Var norm(const Var& x, double p, const Axes& axes, bool keepdim) {
  const Shape kept = kept_shape(x.shape(), axes);
  Tensor y = norm(x.value(), p, axes, keepdim);
  return record(kNorm, y, {x}, {x.value(), y}, [kept, axes, p](const GradContext& g) -> std::vector<Tensor> {
    const Tensor& xv = g.saved[0];
    const Tensor yk = g.saved[1].reshape(kept);
    const Tensor d = g.dout.reshape(kept);
    if (std::isinf(p)) {  // like max |x|, the sign carried along
      const Tensor ax = abs(xv);
      const Tensor hit = eq(ax, yk).to(xv.dtype());
      return {mul(mul(hit, sign(xv)), div(d, sum(hit, axes, true)))};
    }
    if (p == 1.0) return {mul(sign(xv), d)};
    // d ||x||_p / dx_i = sign(x_i) |x_i|^(p-1) / ||x||_p^(p-1); zero where the norm is zero
    const Tensor safe = where(eq(yk, 0.0), ones_like(yk), yk);
    const Tensor scale = where(eq(yk, 0.0), zeros_like(yk), div(d, pow(safe, p - 1.0)));
    const Tensor num = p == 2.0 ? xv : mul(sign(xv), pow(abs(xv), p - 1.0));
    return {mul(num, scale)};
  });
}

GL_GRADCHECK(kSum, "all", {{{3, 4}}}, [](const Vars& x) { return sum(x[0]); });
GL_GRADCHECK(kSum, "axes 0 2 keepdim", {{{2, 3, 4}}}, [](const Vars& x) { return sum(x[0], {0, 2}, true); });
GL_GRADCHECK(kSum, "axis -1", {{{2, 3, 4}}}, [](const Vars& x) { return sum(x[0], {-1}); });
GL_GRADCHECK(kMean, "axis 1", {{{2, 3, 4}}}, [](const Vars& x) { return mean(x[0], {1}); });
GL_GRADCHECK(kMean, "all", {{{5}}}, [](const Vars& x) { return mean(x[0]); });
GL_GRADCHECK(kMax, "axis 1", {{{3, 5}}}, [](const Vars& x) { return max(x[0], {1}); });
GL_GRADCHECK(kMax, "all keepdim", {{{2, 3, 2}}}, [](const Vars& x) { return max(x[0], {}, true); });
GL_GRADCHECK(kMin, "axis 0", {{{3, 5}}}, [](const Vars& x) { return min(x[0], {0}); });
GL_GRADCHECK(kVar, "axis 1", {{{3, 5}}}, [](const Vars& x) { return var(x[0], {1}); });
GL_GRADCHECK(kVar, "all, population", {{{2, 3, 2}}}, [](const Vars& x) { return var(x[0], {}, false, 0); });
GL_GRADCHECK(kLogsumexp, "axis 1", {{{3, 5}, -3, 3}}, [](const Vars& x) { return logsumexp(x[0], {1}); });
GL_GRADCHECK(kLogsumexp, "axes 0 2", {{{2, 3, 4}, -3, 3}}, [](const Vars& x) { return logsumexp(x[0], {0, 2}, true); });
GL_GRADCHECK(kNorm, "p 2 axis 1", {{{3, 5}}}, [](const Vars& x) { return norm(x[0], 2, {1}); });
GL_GRADCHECK(kNorm, "p 1", {{{3, 5}, 0.1, 1}}, [](const Vars& x) { return norm(x[0], 1, {1}); });
GL_GRADCHECK(kNorm, "p 3", {{{3, 5}}}, [](const Vars& x) { return norm(x[0], 3, {0}); });
GL_GRADCHECK(kNorm, "p inf", {{{3, 5}}}, [](const Vars& x) { return norm(x[0], INFINITY, {1}); });

}  // namespace gradlab
