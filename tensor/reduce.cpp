// Entries of the reductions. sum, max and min are kernels; mean, var,
// logsumexp and norm are built from them and elementwise ops.
#include <cmath>

#include "tensor/backend.h"
#include "tensor/ops.h"
#include "tensor/reduce_steps.h"

namespace gradlab {

std::vector<ReduceStep> reduce_steps(const Shape& shape, std::span<const int> axes) {
  bool reduced[kMaxDims] = {};
  for (int a : axes) reduced[a] = true;
  std::vector<std::pair<int64_t, bool>> runs;  // (size, reduced), outermost first
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == 1) continue;
    if (!runs.empty() && runs.back().second == reduced[i])
      runs.back().first *= shape[i];
    else
      runs.push_back({shape[i], reduced[i]});
  }
  std::vector<ReduceStep> steps;
  for (;;) {  // the innermost reduced run first, until none is left
    int r = -1;
    for (int i = int(runs.size()) - 1; i >= 0 && r < 0; --i)
      if (runs[size_t(i)].second) r = i;
    if (r < 0) break;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < r; ++i) outer *= runs[size_t(i)].first;
    for (size_t i = size_t(r) + 1; i < runs.size(); ++i) inner *= runs[i].first;
    const int64_t R = runs[size_t(r)].first;
    runs.erase(runs.begin() + r);
    bool last = true;
    for (auto& run : runs) last = last && !run.second;
    steps.push_back({outer, R, inner, last});
  }
  return steps;
}

namespace {

struct ReducePlan {
  std::vector<int> axes;  // wrapped, sorted, unique
  Shape keep_shape;       // reduced axes set to 1
  Shape out_shape;        // keep_shape, or without the reduced axes
  int64_t count = 1;      // elements folded into each output
};

ReducePlan plan_reduce(const Tensor& x, const Axes& axes, bool keepdim, std::string_view op) {
  GL_CHECK(x.defined(), "{}: tensor is undefined", op);
  ReducePlan p;
  bool reduced[kMaxDims] = {};
  if (axes.empty()) {
    for (int i = 0; i < x.dim(); ++i) reduced[i] = true;
  } else {
    for (int64_t a : axes) {
      const int w = wrap_axis(a, x.dim(), op);
      GL_CHECK(x.dim() == 0 || !reduced[w], "{}: axis {} given twice", op, a);
      reduced[w] = x.dim() > 0;
    }
  }
  p.keep_shape = x.shape();
  for (int i = 0; i < x.dim(); ++i) {
    if (reduced[i]) {
      p.axes.push_back(i);
      p.count *= x.shape()[i];
      p.keep_shape[i] = 1;
      if (keepdim) p.out_shape.push_back(1);
    } else {
      p.out_shape.push_back(x.shape()[i]);
    }
  }
  return p;
}

Tensor reduce_op(ReduceOp op, const Tensor& x, const ReducePlan& p, std::string_view name) {
  if (x.dtype() == DType::bf16) fail_bf16(name);  // before the kernel, which knows only "reduce"
  Tensor out = Tensor::empty(p.keep_shape, x.dtype(), x.device());
  kernel(&Backend::reduce, x.device(), name)(op, x, p.axes, out);
  return out.view(p.out_shape);
}

void require_float(const Tensor& x, std::string_view op) {
  GL_CHECK(is_floating(x.dtype()), "{}: expected a floating dtype (f32 or f64), got {}", op, x.dtype());
}

void require_elements(const ReducePlan& p, const Tensor& x, std::string_view op) {
  GL_CHECK(p.count > 0, "{}: cannot reduce over an empty axis (tensor of shape {})", op, x.shape());
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduce(x, axes, keepdim, "sum");
  const Tensor src = is_floating(x.dtype()) ? x : x.to(DType::i64);
  return reduce_op(ReduceOp::sum, src, p, "sum");
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  GL_CHECK(x.defined(), "sum_to: tensor is undefined");
  if (x.shape() == shape) return x;
  Shape check;
  GL_CHECK(try_broadcast(shape, x.shape(), check) && check == x.shape(), "sum_to: shape {} is not a broadcast of {}",
           x.shape(), shape);
  const int lead = x.dim() - shape.size();
  Axes axes;
  for (int i = 0; i < x.dim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && x.shape()[i] != 1)) axes.push_back(i);
  return sum(x, axes, true).view(shape);
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduce(x, axes, keepdim, "mean");
  require_float(x, "mean");
  require_elements(p, x, "mean");
  return div(reduce_op(ReduceOp::sum, x, p, "mean"), double(p.count));
}

Tensor max(const Tensor& x, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduce(x, axes, keepdim, "max");
  require_elements(p, x, "max");
  return reduce_op(ReduceOp::max, x, p, "max");
}

Tensor min(const Tensor& x, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduce(x, axes, keepdim, "min");
  require_elements(p, x, "min");
  return reduce_op(ReduceOp::min, x, p, "min");
}

Tensor var(const Tensor& x, const Axes& axes, bool keepdim, int64_t correction) {
  const ReducePlan p = plan_reduce(x, axes, keepdim, "var");
  require_float(x, "var");
  require_elements(p, x, "var");
  GL_CHECK(correction >= 0, "var: correction must be >= 0, got {}", correction);
  // Two passes (mean, then squared deviations) stay accurate when the mean is large.
  const Tensor m = div(reduce_op(ReduceOp::sum, x, plan_reduce(x, axes, true, "var"), "var"), double(p.count));
  const Tensor d = sub(x, m);
  return div(reduce_op(ReduceOp::sum, mul(d, d), p, "var"), double(p.count - correction));
}

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduce(x, axes, keepdim, "logsumexp");
  require_float(x, "logsumexp");
  if (p.count == 0) return full(p.out_shape, -INFINITY, x.dtype(), x.device());
  // Shift by the max so exp never overflows; an all -inf (or +inf) slice keeps a zero shift.
  const ReducePlan keep = plan_reduce(x, axes, true, "logsumexp");
  const Tensor m = reduce_op(ReduceOp::max, x, keep, "logsumexp");
  const Tensor shift = where(eq(abs(m), INFINITY), zeros_like(m), m);
  const Tensor s = reduce_op(ReduceOp::sum, exp(sub(x, shift)), keep, "logsumexp");
  return add(log(s), shift).view(p.out_shape);
}

Tensor norm(const Tensor& x, double p_norm, const Axes& axes, bool keepdim) {
  const ReducePlan p = plan_reduce(x, axes, keepdim, "norm");
  require_float(x, "norm");
  GL_CHECK(p_norm > 0, "norm: p must be positive, got {}", p_norm);
  if (std::isinf(p_norm)) {
    if (p.count == 0) return zeros(p.out_shape, x.dtype(), x.device());
    return reduce_op(ReduceOp::max, abs(x), p, "norm");
  }
  if (p_norm == 1.0) return reduce_op(ReduceOp::sum, abs(x), p, "norm");
  if (p_norm == 2.0) return sqrt(reduce_op(ReduceOp::sum, mul(x, x), p, "norm"));
  return pow(reduce_op(ReduceOp::sum, pow(abs(x), p_norm), p, "norm"), 1.0 / p_norm);
}

namespace {

Tensor arg_reduce_op(ArgReduceOp op, const Tensor& x, std::optional<int64_t> axis, bool keepdim,
                     std::string_view name) {
  GL_CHECK(x.defined(), "{}: tensor is undefined", name);
  GL_CHECK(x.dtype() != DType::b8, "{}: not defined for b8 masks", name);
  if (x.dtype() == DType::bf16) fail_bf16(name);
  if (!axis) {
    Tensor flat = x.reshape({x.numel()});
    Tensor r = arg_reduce_op(op, flat, 0, false, name);
    if (!keepdim) return r;
    Shape ones;
    for (int i = 0; i < x.dim(); ++i) ones.push_back(1);
    return r.view(ones);
  }
  const int a = x.dim() == 0 ? 0 : wrap_axis(*axis, x.dim(), name);
  const Tensor src = x.dim() == 0 ? x.reshape({1}) : x;
  GL_CHECK(src.shape()[a] > 0, "{}: axis {} of shape {} is empty", name, a, x.shape());
  Shape keep = src.shape();
  keep[a] = 1;
  Tensor out = Tensor::empty(keep, DType::i64, x.device());
  kernel(&Backend::arg_reduce, x.device(), name)(op, src, a, out);
  if (keepdim) return x.dim() == 0 ? out.view({}) : out;
  return out.squeeze(a);
}

}  // namespace

Tensor argmax(const Tensor& x, std::optional<int64_t> axis, bool keepdim) {
  return arg_reduce_op(ArgReduceOp::argmax, x, axis, keepdim, "argmax");
}
Tensor argmin(const Tensor& x, std::optional<int64_t> axis, bool keepdim) {
  return arg_reduce_op(ArgReduceOp::argmin, x, axis, keepdim, "argmin");
}

}  // namespace gradlab
