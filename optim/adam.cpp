// Adam and AdamW: option checks, the moment slots, and step(), which gathers
// every parameter that has a gradient and makes one fused adam_step_ call.
#include "optim/adam.h"

#include <cmath>

#include "tensor/optim_kernels.h"

namespace gradlab::optim {

Adam::Adam(std::vector<Var> params, const AdamOptions& options) : Adam("Adam", std::move(params), options, false) {}

Adam::Adam(std::string name, std::vector<Var> params, const AdamOptions& options, bool decoupled)
    : Optimizer(std::move(name), std::move(params), options.lr), options_(options), decoupled_(decoupled) {
  GL_CHECK(options.beta1 >= 0 && options.beta1 < 1, "{}: beta1 must be in [0, 1), got {}", name_, options.beta1);
  GL_CHECK(options.beta2 >= 0 && options.beta2 < 1, "{}: beta2 must be in [0, 1), got {}", name_, options.beta2);
  GL_CHECK(std::isfinite(options.eps) && options.eps >= 0, "{}: eps must be finite and >= 0, got {}", name_,
           options.eps);
  GL_CHECK(std::isfinite(options.weight_decay) && options.weight_decay >= 0,
           "{}: weight_decay must be finite and >= 0, got {}", name_, options.weight_decay);
  for (size_t i = 0; i < params_.size(); ++i)
    GL_CHECK(params_[i].value().is_contiguous(),
             "{}: parameter {} of shape {} is a non-contiguous view; the fused step needs contiguous parameters", name_,
             i, params_[i].shape());
  m_slot_ = add_slot("m");
  v_slot_ = add_slot("v");
}

void Adam::step() {
  NoGradGuard no_grad;
  std::vector<Tensor> p, g, m, v;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& grad = params_[i].grad();
    if (!grad.defined()) continue;
    GL_CHECK(grad.dtype() == params_[i].dtype(), "{}: parameter {} has dtype {} but its gradient has {}", name_, i,
             params_[i].dtype(), grad.dtype());
    p.push_back(params_[i].value());
    g.push_back(grad);
    m.push_back(slot(m_slot_)[i]);
    v.push_back(slot(v_slot_)[i]);
  }
  const AdamHyperparams h{.lr = lr_,
                          .beta1 = options_.beta1,
                          .beta2 = options_.beta2,
                          .eps = options_.eps,
                          .weight_decay = options_.weight_decay,
                          .decoupled = decoupled_,
                          .step = step_count_ + 1};
  adam_step_(p, g, m, v, h);
  ++step_count_;
}

namespace {
AdamOptions as_adam_options(const AdamWOptions& o) {
  return {.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .weight_decay = o.weight_decay};
}
}  // namespace

AdamW::AdamW(std::vector<Var> params, const AdamWOptions& options)
    : Adam("AdamW", std::move(params), as_adam_options(options), true) {}

}  // namespace gradlab::optim
