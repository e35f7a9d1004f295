// Stochastic gradient descent with momentum (dampening 0), optional Nesterov
// momentum and L2 weight decay. Per parameter p with gradient g, buffer b (0 at first):
//   g = g + wd p
//   b = mu b + g                       (when mu > 0; b = g on the first step)
//   d = nesterov ? g + mu b : b        (d = g when mu = 0)
//   p = p - lr d
#pragma once

#include "optim/optimizer.h"

namespace gradlab::optim {

struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;      // mu >= 0
  double weight_decay = 0.0;  // wd >= 0
  bool nesterov = false;      // needs momentum > 0
};

class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<Var> params, const SGDOptions& options = {});
  void step() override;
  const SGDOptions& options() const { return options_; }  // lr: the initial one (lr() is current)

 private:
  SGDOptions options_;
  size_t momentum_slot_ = 0;  // state "momentum", present when mu > 0
};

}  // namespace gradlab::optim
