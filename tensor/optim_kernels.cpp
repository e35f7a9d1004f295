// The entries of the fused Adam(W) step and of sum_squares: they check their
// inputs (for Adam the hyperparameters and every (param, grad, m, v) group),
// naming the op, the index and the offending shapes or values, then make one
// call to the device's kernel. See tensor/optim_kernels.h.
#include "tensor/optim_kernels.h"

#include <cmath>
#include <vector>

namespace gradlab {

namespace {

constexpr const char* kOp = "adam_step";

// `t` (the `what` of group i) matches that group's parameter.
void check_like_param(const Tensor& t, const Tensor& p, size_t i, const char* what, bool contiguous) {
  GL_CHECK(t.defined(), "{}: {}[{}] is undefined", kOp, what, i);
  GL_CHECK(t.shape() == p.shape(), "{}: {}[{}] has shape {} but params[{}] has {}", kOp, what, i, t.shape(), i,
           p.shape());
  GL_CHECK(t.dtype() == p.dtype(), "{}: {}[{}] has dtype {} but params[{}] has {}", kOp, what, i, t.dtype(), i,
           p.dtype());
  GL_CHECK(t.device() == p.device(), "{}: {}[{}] is on {} but params[{}] is on {}", kOp, what, i, t.device(), i,
           p.device());
  GL_CHECK(!contiguous || t.is_contiguous(), "{}: {}[{}] of shape {} must be contiguous (it is written in place)", kOp,
           what, i, t.shape());
}

void check_hyperparams(const AdamHyperparams& h) {
  GL_CHECK(std::isfinite(h.lr) && h.lr >= 0, "{}: lr must be finite and >= 0, got {}", kOp, h.lr);
  GL_CHECK(h.beta1 >= 0 && h.beta1 < 1, "{}: beta1 must be in [0, 1), got {}", kOp, h.beta1);
  GL_CHECK(h.beta2 >= 0 && h.beta2 < 1, "{}: beta2 must be in [0, 1), got {}", kOp, h.beta2);
  GL_CHECK(std::isfinite(h.eps) && h.eps >= 0, "{}: eps must be finite and >= 0, got {}", kOp, h.eps);
  GL_CHECK(std::isfinite(h.weight_decay) && h.weight_decay >= 0, "{}: weight_decay must be finite and >= 0, got {}",
           kOp, h.weight_decay);
  GL_CHECK(h.step >= 1, "{}: step must be >= 1 (the bias corrections divide by 1 - beta^step), got {}", kOp, h.step);
}

}  // namespace

void adam_step_(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
                std::span<const Tensor> v, const AdamHyperparams& h) {
  GL_CHECK(grads.size() == params.size() && m.size() == params.size() && v.size() == params.size(),
           "{}: lists of different lengths: {} params, {} grads, {} m, {} v", kOp, params.size(), grads.size(),
           m.size(), v.size());
  check_hyperparams(h);
  if (params.empty()) return;
  const Device device = params[0].device();
  std::vector<Tensor> dense_grads;
  dense_grads.reserve(grads.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    GL_CHECK(p.defined(), "{}: params[{}] is undefined", kOp, i);
    GL_CHECK(is_floating(p.dtype()), "{}: params[{}] must be f32 or f64, got {}", kOp, i, p.dtype());
    GL_CHECK(p.is_contiguous(), "{}: params[{}] of shape {} must be contiguous (it is written in place)", kOp, i,
             p.shape());
    GL_CHECK(p.device() == device, "{}: params[{}] is on {} but params[0] is on {}", kOp, i, p.device(), device);
    check_like_param(grads[i], p, i, "grads", false);
    check_like_param(m[i], p, i, "m", true);
    check_like_param(v[i], p, i, "v", true);
    GL_CHECK(m[i].storage() != p.storage() && v[i].storage() != p.storage() && m[i].storage() != v[i].storage(),
             "{}: params[{}], m[{}] and v[{}] must not share storage", kOp, i, i, i);
    dense_grads.push_back(grads[i].contiguous());
  }
  kernel(&Backend::adam_step, device, kOp)(params, dense_grads, m, v, h);
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].bump_version();
    m[i].bump_version();
    v[i].bump_version();
  }
}

Tensor sum_squares(std::span<const Tensor> xs) {
  const Device device = xs.empty() ? Device::cpu : xs[0].device();
  std::vector<Tensor> dense;
  dense.reserve(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    GL_CHECK(xs[i].defined(), "sum_squares: xs[{}] is undefined", i);
    GL_CHECK(is_floating(xs[i].dtype()), "sum_squares: xs[{}] must be f32 or f64, got {}", i, xs[i].dtype());
    GL_CHECK(xs[i].device() == device, "sum_squares: xs[{}] is on {} but xs[0] is on {}", i, xs[i].device(), device);
    dense.push_back(xs[i].contiguous());
  }
  Tensor out = Tensor::empty({}, DType::f64, device);
  kernel(&Backend::sum_squares, device, "sum_squares")(dense, out);
  return out;
}

}  // namespace gradlab
