// Adam and AdamW with bias correction. Per parameter p with gradient g, at step t:
//   Adam:  g = g + wd p                  (L2 weight decay, through the moments)
//   AdamW: p = p - lr wd p               (decoupled weight decay, before the step)
//   m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2
//   p = p - lr m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t)
// step() is one fused pass over all parameters (tensor/optim_kernels.h).
#pragma once

#include "optim/optimizer.h"

namespace gradlab::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;  // in [0, 1)
  double eps = 1e-8;                  // >= 0
  double weight_decay = 0.0;          // L2, >= 0
};
// AdamW's options: the same fields, with decoupled weight decay 0.01 by default.
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

// State slots "m" and "v" per parameter (zeros at first), plus the step count
// t shared by all parameters: a parameter skipped for lack of a gradient keeps
// its moments, but its next step is still bias-corrected with the shared t.
class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Var> params, const AdamOptions& options = {});
  void step() override;
  const AdamOptions& options() const { return options_; }  // lr: the initial one (lr() is current)

 protected:
  Adam(std::string name, std::vector<Var> params, const AdamOptions& options, bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;
  size_t m_slot_, v_slot_;
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Var> params, const AdamWOptions& options = {});
};

}  // namespace gradlab::optim
