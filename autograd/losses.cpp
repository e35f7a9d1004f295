// Differentiable losses, each one node with its own backward: cross_entropy
// on the fused kernel of tensor/fused_losses.h (class axis last, ignore_index,
// keep-masks and per-target weights), and the elementwise losses mse,
// gaussian_nll and bce_with_logits, whose inputs broadcast like the binary ops
// and whose per-element losses reduce by mean, sum or none.
#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tensor/fused_losses.h"

namespace gradlab {

namespace {

// Floating inputs of one dtype whose shapes broadcast; returns the result shape.
Shape check_inputs(const std::vector<Var>& xs, std::string_view op) {
  Shape shape;
  for (size_t i = 0; i < xs.size(); ++i) {
    GL_CHECK(xs[i].defined() && xs[i].value().defined(), "{}: input {} is undefined", op, i);
    GL_CHECK(is_floating(xs[i].dtype()), "{}: expected f32 or f64 inputs, input {} is {}", op, i, xs[i].dtype());
    GL_CHECK(xs[i].dtype() == xs[0].dtype(), "{}: dtypes differ ({} and {}); convert one with .to()", op, xs[0].dtype(),
             xs[i].dtype());
    shape = i == 0 ? xs[i].shape() : broadcast_shapes(shape, xs[i].shape(), op);
  }
  return shape;
}

// The per-element losses, reduced as asked.
Tensor reduce_loss(const Tensor& elements, Reduction reduction) {
  if (reduction == Reduction::mean) return mean(elements);
  if (reduction == Reduction::sum) return sum(elements);
  return elements;
}

// The output gradient as the gradient of each per-element loss (of `shape`).
Tensor element_grad(const Tensor& dout, const Shape& shape, Reduction reduction) {
  if (reduction == Reduction::none) return dout;
  const Tensor spread = dout.expand(shape);
  return reduction == Reduction::mean ? div(spread, double(shape.numel())) : spread;
}

}  // namespace

GL_OP(kCrossEntropy, "cross_entropy");
GL_OP(kMse, "mse");
GL_OP(kGaussianNll, "gaussian_nll");
GL_OP(kBceWithLogits, "bce_with_logits");

// ---------------------------------------------------------------- cross-entropy

Var cross_entropy(const Var& logits, const Tensor& target, const CrossEntropyOptions& options) {
  GL_CHECK(logits.defined() && logits.value().defined(), "cross_entropy: logits are undefined");
  GL_CHECK(target.defined(), "cross_entropy: target is undefined");
  const Tensor& x = logits.value();
  GL_CHECK(x.dim() >= 1, "cross_entropy: logits must be [.., C] with the classes last, got shape {}", x.shape());
  GL_CHECK(is_integral(target.dtype()), "cross_entropy: target must be i32 or i64, got {}", target.dtype());
  const Shape batch(std::span<const int64_t>(x.shape().begin(), x.shape().end() - 1));
  GL_CHECK(target.shape() == batch, "cross_entropy: target of shape {} should be {} for logits of shape {}",
           target.shape(), batch, x.shape());
  const int64_t n = batch.numel(), classes = x.size(-1);
  const Tensor t = target.to(DType::i64).reshape({n});

  // kept: not the ignore_index and not masked out. weight: 0 where not kept,
  // else the mask's weight (or 1), in the logits' dtype.
  Tensor kept = ne(t, double(options.ignore_index));
  Tensor weight;
  if (options.mask.defined()) {
    const Tensor& m = options.mask;
    GL_CHECK(m.shape() == batch, "cross_entropy: mask of shape {} should match the target's shape {}", m.shape(),
             batch);
    GL_CHECK(m.dtype() == DType::b8 || is_floating(m.dtype()),
             "cross_entropy: mask must be b8 (keep) or f32/f64 (weights), got {}", m.dtype());
    const Tensor flat = m.reshape({n});
    if (m.dtype() == DType::b8) {
      kept = where(flat, kept, flat);  // kept and mask
    } else {
      weight = where(kept, flat.to(x.dtype()), scalar_like(0.0, x));
    }
  }
  if (!weight.defined()) weight = kept.to(x.dtype());
  // On the CPU the checks and the mean's total weight are read at once; on
  // another device they stay there (no host synchronisation): a negative
  // target is counted on the device (tensor/backend.h: check_none_bad) and the
  // mean's 1 / total weight is a tensor.
  const bool on_cpu = x.device() == Device::cpu;
  if (n > 0 && on_cpu) {
    const int64_t lowest = min(where(kept, t, scalar(0.0, DType::i64, t.device()))).item<int64_t>();
    GL_CHECK(lowest >= 0, "cross_entropy: target {} is out of range for {} classes (ignore_index is {})", lowest,
             classes, options.ignore_index);
  } else if (n > 0) {
    const Tensor negative = sum(lt(where(kept, t, scalar(0.0, DType::i64, t.device())), 0.0).to(DType::i64));
    check_none_bad(negative, fmt::format("cross_entropy: targets below 0 for {} classes (ignore_index is {})", classes,
                                         options.ignore_index));
  }
  // The kernel ignores rows whose target is negative.
  const Tensor rows = where(kept, t, scalar(-1.0, DType::i64, t.device()));

  const Tensor flat_logits = x.reshape({n, classes});
  const CrossEntropyForward f = cross_entropy_forward(flat_logits, rows);
  const Tensor weighted = mul(f.loss, weight);
  // mean divides by the total weight of the kept targets; none kept gives 0, not NaN.
  double scale = 1.0;
  Tensor scale_on_device;  // [] in the logits' dtype, off the CPU
  if (options.reduction == Reduction::mean && on_cpu) {
    const double total = n > 0 ? sum(weight).item() : 0.0;
    scale = total != 0.0 ? 1.0 / total : 0.0;
  } else if (options.reduction == Reduction::mean) {
    const Tensor total = sum(weight);
    const Tensor zero = scalar_like(0.0, total);
    scale_on_device = where(ne(total, 0.0),
                            div(scalar_like(1.0, total), where(ne(total, 0.0), total, scalar_like(1.0, total))), zero);
  }
  Tensor out = options.reduction == Reduction::none ? weighted.reshape(batch)
               : scale_on_device.defined()          ? mul(sum(weighted), scale_on_device)
                                                    : mul(sum(weighted), scale);
  const Reduction reduction = options.reduction;
  return record(kCrossEntropy, out, {logits}, {flat_logits, rows, f.lse, weight, scale_on_device},
                [reduction, scale, n](const GradContext& g) -> std::vector<Tensor> {
                  const Tensor& w = g.saved[3];
                  const Tensor& device_scale = g.saved[4];
                  const Tensor d = reduction == Reduction::none ? g.dout.reshape({n}) : g.dout.reshape({}).expand({n});
                  const Tensor dloss =
                      device_scale.defined() ? mul(d, mul(w, device_scale)) : mul(d, scale == 1.0 ? w : mul(w, scale));
                  return {cross_entropy_backward(g.saved[0], g.saved[1], g.saved[2], dloss).reshape(g.shapes[0])};
                });
}

namespace {
// Targets are built from fixed values inside each spec.
Tensor targets(std::vector<int64_t> v, const Shape& shape) { return from_vector(v, shape); }
CrossEntropyOptions options(Reduction reduction, int64_t ignore_index = -100, Tensor mask = Tensor()) {
  CrossEntropyOptions o;
  o.reduction = reduction;
  o.ignore_index = ignore_index;
  o.mask = std::move(mask);
  return o;
}
}  // namespace

GL_GRADCHECK(kCrossEntropy, "mean", {{{4, 5}, -2, 2}}, [](const Vars& x) {
  return cross_entropy(x[0], targets({1, 0, 4, 2}, {4}));
});
GL_GRADCHECK(kCrossEntropy, "sum, [2, 3, C] logits, i32 targets", {{{2, 3, 4}, -2, 2}}, [](const Vars& x) {
  return cross_entropy(x[0], targets({0, 3, 1, 2, 2, 0}, {2, 3}).to(DType::i32), options(Reduction::sum));
});
GL_GRADCHECK(kCrossEntropy, "none", {{{2, 3, 4}, -2, 2}}, [](const Vars& x) {
  return cross_entropy(x[0], targets({0, 3, 1, 2, 2, 0}, {2, 3}), options(Reduction::none));
});
GL_GRADCHECK(kCrossEntropy, "ignore_index -100, mean", {{{5, 3}, -2, 2}}, [](const Vars& x) {
  return cross_entropy(x[0], targets({2, -100, 0, -100, 1}, {5}));
});
GL_GRADCHECK(kCrossEntropy, "ignore_index 1 (a class), none", {{{5, 3}, -2, 2}}, [](const Vars& x) {
  return cross_entropy(x[0], targets({2, 1, 0, 1, 0}, {5}), options(Reduction::none, 1));
});
GL_GRADCHECK(kCrossEntropy, "b8 keep-mask, mean", {{{2, 3, 4}, -2, 2}}, [](const Vars& x) {
  const Tensor keep = gt(tensor({1, 0, 1, 1, 0, 1}, {2, 3}), 0.5);
  return cross_entropy(x[0], targets({0, 3, -100, 2, 2, 0}, {2, 3}), options(Reduction::mean, -100, keep));
});
GL_GRADCHECK(kCrossEntropy, "weights and ignore_index, mean", {{{4, 3}, -2, 2}}, [](const Vars& x) {
  const Tensor w = tensor({0.5, 2.0, 1.5, 3.0}, {4}, DType::f64);
  return cross_entropy(x[0], targets({2, 0, -100, 1}, {4}), options(Reduction::mean, -100, w));
});
GL_GRADCHECK(kCrossEntropy, "weights, sum", {{{4, 3}, -2, 2}}, [](const Vars& x) {
  const Tensor w = tensor({0.5, 2.0, 1.5, 0.0}, {4}, DType::f64);
  return cross_entropy(x[0], targets({2, 0, 1, 1}, {4}), options(Reduction::sum, -100, w));
});
GL_GRADCHECK(kCrossEntropy, "all ignored: zero loss and gradient", {{{3, 4}, -2, 2}}, [](const Vars& x) {
  return cross_entropy(x[0], targets({-100, -100, -100}, {3}));
});
GL_GRADCHECK(kCrossEntropy, "large logits", {{{3, 6}, -30, 30}}, [](const Vars& x) {
  return cross_entropy(x[0], targets({5, 0, 3}, {3}), options(Reduction::sum));
});

// ---------------------------------------------------------------- elementwise losses

Var mse(const Var& prediction, const Var& target, Reduction reduction) {
  const Shape shape = check_inputs({prediction, target}, "mse");
  const Tensor diff = sub(prediction.value(), target.value());
  return record(
      kMse, reduce_loss(square(diff), reduction), {prediction, target}, {diff},
      [reduction, shape](const GradContext& g) -> std::vector<Tensor> {
        // d (p - t)^2 = 2 (p - t) (dp - dt)
        const Tensor d = mul(element_grad(g.dout, shape, reduction), mul(g.saved[0], 2.0));
        return {g.need(0) ? sum_to(d, g.shapes[0]) : Tensor(), g.need(1) ? sum_to(neg(d), g.shapes[1]) : Tensor()};
      });
}

Var gaussian_nll(const Var& mean, const Var& log_var, const Var& target, Reduction reduction) {
  const Shape shape = check_inputs({mean, log_var, target}, "gaussian_nll");
  const Tensor diff = sub(target.value(), mean.value());  // t - mu
  const Tensor inv_var = exp(neg(log_var.value()));       // exp(-log_var)
  const Tensor scaled_sq = mul(square(diff), inv_var);    // (t - mu)^2 / var
  const Tensor elements = mul(add(log_var.value(), scaled_sq), 0.5);
  return record(kGaussianNll, reduce_loss(elements, reduction), {mean, log_var, target}, {diff, inv_var, scaled_sq},
                [reduction, shape](const GradContext& g) -> std::vector<Tensor> {
                  const Tensor d = element_grad(g.dout, shape, reduction);
                  const Tensor& diff = g.saved[0];
                  // d/dt = (t - mu) / var = -d/dmu;  d/dlog_var = (1 - (t - mu)^2 / var) / 2
                  const Tensor dt = g.need(0) || g.need(2) ? mul(d, mul(diff, g.saved[1])) : Tensor();
                  const Tensor dlv = g.need(1) ? mul(d, mul(1.0 - g.saved[2], 0.5)) : Tensor();
                  return {g.need(0) ? sum_to(neg(dt), g.shapes[0]) : Tensor(),
                          g.need(1) ? sum_to(dlv, g.shapes[1]) : Tensor(),
                          g.need(2) ? sum_to(dt, g.shapes[2]) : Tensor()};
                });
}

Var bce_with_logits(const Var& logits, const Var& target, Reduction reduction) {
  const Shape shape = check_inputs({logits, target}, "bce_with_logits");
  const Tensor& x = logits.value();
  const Tensor& t = target.value();
  // max(x, 0) - x t + log1p(exp(-|x|)): exp never sees a positive argument.
  const Tensor elements = add(sub(relu(x), mul(x, t)), log1p(exp(neg(abs(x)))));
  return record(kBceWithLogits, reduce_loss(elements, reduction), {logits, target}, {x, t},
                [reduction, shape](const GradContext& g) -> std::vector<Tensor> {
                  const Tensor d = element_grad(g.dout, shape, reduction);
                  const Tensor &xv = g.saved[0], &tv = g.saved[1];
                  // d/dx = sigmoid(x) - t;  d/dt = -x
                  return {g.need(0) ? sum_to(mul(d, sub(sigmoid(xv), tv)), g.shapes[0]) : Tensor(),
                          g.need(1) ? sum_to(neg(mul(d, xv)), g.shapes[1]) : Tensor()};
                });
}

GL_GRADCHECK(kMse, "mean, broadcast target", {{{3, 4}}, {{4}}}, [](const Vars& x) { return mse(x[0], x[1]); });
GL_GRADCHECK(kMse, "sum", {{{3, 4}}, {{3, 4}}}, [](const Vars& x) { return mse(x[0], x[1], Reduction::sum); });
GL_GRADCHECK(kMse, "none, broadcast prediction", {{{3, 1}}, {{3, 4}}},
             [](const Vars& x) { return mse(x[0], x[1], Reduction::none); });
GL_GRADCHECK(kGaussianNll, "mean, shared log_var", {{{3, 4}}, {{4}, -1, 1}, {{3, 4}}},
             [](const Vars& x) { return gaussian_nll(x[0], x[1], x[2]); });
GL_GRADCHECK(kGaussianNll, "sum", {{{3, 4}}, {{3, 4}, -1, 1}, {{3, 4}}},
             [](const Vars& x) { return gaussian_nll(x[0], x[1], x[2], Reduction::sum); });
GL_GRADCHECK(kGaussianNll, "none, broadcast mean and target", {{{2, 1, 4}}, {{2, 3, 4}, -1, 1}, {{3, 1}}},
             [](const Vars& x) { return gaussian_nll(x[0], x[1], x[2], Reduction::none); });
GL_GRADCHECK(kBceWithLogits, "mean", {{{3, 4}, -4, 4}, {{3, 4}, 0, 1}},
             [](const Vars& x) { return bce_with_logits(x[0], x[1]); });
GL_GRADCHECK(kBceWithLogits, "sum, broadcast target", {{{3, 4}, -4, 4}, {{4}, 0, 1}},
             [](const Vars& x) { return bce_with_logits(x[0], x[1], Reduction::sum); });
GL_GRADCHECK(kBceWithLogits, "none, large logits", {{{3, 4}, -30, 30}, {{3, 4}, 0, 1}},
             [](const Vars& x) { return bce_with_logits(x[0], x[1], Reduction::none); });

}  // namespace gradlab
