// Optimizer: the base of gradlab's optimisers. It holds the parameters (leaf
// Vars that require gradients, each once), the learning rate that schedules
// drive through set_lr, the number of steps taken, and the per-parameter state
// tensors (momentum, Adam's moments) that state() and load_state() checkpoint.
#pragma once

#include <string>
#include <vector>

#include "autograd/var.h"
#include "tensor/named_tensors.h"

namespace gradlab::optim {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient, in place, under no_grad.
  // A parameter whose grad() is undefined is skipped and its state untouched.
  virtual void step() = 0;
  // Forgets every parameter's gradient (grad() becomes undefined).
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr);                             // finite and >= 0
  int64_t step_count() const { return step_count_; }  // step() calls so far
  const std::vector<Var>& params() const { return params_; }
  const std::string& name() const { return name_; }

  // A snapshot (copies) of the state: "<i>.<slot>" for parameter i and each
  // state slot (e.g. "0.m", "0.v", "1.m", ...), then "step" (0-d i64).
  NamedTensors state() const;
  // Copies a state() back in. Every name must match both ways, with the same
  // shapes and dtypes; on any mismatch nothing is changed and the error names it.
  void load_state(const NamedTensors& state);

 protected:
  // `name` prefixes error messages ("SGD", "Adam", ...).
  Optimizer(std::string name, std::vector<Var> params, double lr);

  // Adds a state slot: one zero tensor like each parameter; returns its index.
  size_t add_slot(const std::string& name);
  std::vector<Tensor>& slot(size_t index) { return slots_[index].tensors; }

  std::string name_;
  std::vector<Var> params_;
  double lr_;
  int64_t step_count_ = 0;

 private:
  struct Slot {
    std::string name;
    std::vector<Tensor> tensors;  // parallel to params_
  };
  std::vector<Slot> slots_;
};

}  // namespace gradlab::optim
