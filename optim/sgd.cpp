// SGD with momentum, Nesterov and L2 weight decay (formulas in optim/sgd.h),
// one parameter at a time with tensor ops; the results are copied into the
// live parameter and momentum tensors.
#include "optim/sgd.h"

#include <cmath>

#include "tensor/ops.h"

namespace gradlab::optim {

SGD::SGD(std::vector<Var> params, const SGDOptions& options)
    : Optimizer("SGD", std::move(params), options.lr), options_(options) {
  GL_CHECK(std::isfinite(options.momentum) && options.momentum >= 0, "SGD: momentum must be finite and >= 0, got {}",
           options.momentum);
  GL_CHECK(std::isfinite(options.weight_decay) && options.weight_decay >= 0,
           "SGD: weight_decay must be finite and >= 0, got {}", options.weight_decay);
  GL_CHECK(!options.nesterov || options.momentum > 0, "SGD: nesterov needs momentum > 0, got momentum {}",
           options.momentum);
  if (options.momentum > 0) momentum_slot_ = add_slot("momentum");
}

void SGD::step() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {  // check all before changing any
    const Tensor& g = params_[i].grad();
    GL_CHECK(!g.defined() || g.dtype() == params_[i].dtype(), "SGD: parameter {} has dtype {} but its gradient has {}",
             i, params_[i].dtype(), g.dtype());
  }
  const double mu = options_.momentum, wd = options_.weight_decay;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& g0 = params_[i].grad();
    if (!g0.defined()) continue;
    Tensor p = params_[i].value();
    Tensor g = wd != 0 ? g0 + p * wd : g0;
    if (mu > 0) {
      Tensor& b = slot(momentum_slot_)[i];
      b.copy_(b * mu + g);
      g = options_.nesterov ? g + b * mu : b;
    }
    p.copy_(p - g * lr_);
  }
  ++step_count_;
}

}  // namespace gradlab::optim
