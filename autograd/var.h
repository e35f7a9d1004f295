// Var: a tensor value that autograd tracks. A Var made by a differentiable op
// from inputs that require gradients points to the Node that made it; a leaf
// (a parameter, or an input you differentiate by) owns its accumulated grad.
//
//   Var w = Var::leaf(randn({3, 3}, gen));     // requires_grad
//   Var loss = sum(tanh(matmul(x, w)));
//   loss.backward();                           // w.grad() now holds dloss/dw
//
// A Tensor converts to a constant Var (requires_grad false), so constants mix
// freely with Vars in ops; a call on Tensors alone still picks the tensor op.
// Gradients accumulate across uses and across backward calls until zero_grad().
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "tensor/tensor.h"

namespace gradlab {

struct Node;
struct VarImpl;

// A backward hook sees the gradient flowing into a Var; returning a defined
// Tensor (of the same shape) replaces that gradient.
using GradHook = std::function<Tensor(const Tensor& grad)>;

class Var {
 public:
  Var() = default;
  Var(Tensor value, bool requires_grad = false);  // NOLINT(google-explicit-constructor): a constant
  // A leaf that requires a gradient (a parameter).
  static Var leaf(Tensor value) { return Var(std::move(value), true); }

  bool defined() const { return impl_ != nullptr; }
  const Tensor& value() const;
  // The accumulated gradient; undefined until a backward pass reaches this Var.
  const Tensor& grad() const;
  void set_grad(Tensor grad) const;
  void zero_grad() const;  // forgets the gradient (grad() becomes undefined)
  bool requires_grad() const;
  // Makes a leaf (not) require gradients; refused on a Var made by an op.
  const Var& requires_grad_(bool on = true) const;
  bool is_leaf() const;  // made by no op (a constant or a parameter)
  const std::shared_ptr<Node>& node() const;
  // Keeps the gradient of a Var made by an op in grad() (leaves always keep theirs).
  void retain_grad() const;

  // Backward from this Var: with no cotangent it must hold one element (a
  // loss); otherwise the cotangent has its shape and dtype. The graph is freed
  // afterwards unless retain_graph is set.
  void backward(const Tensor& cotangent = Tensor(), bool retain_graph = false) const;

  // The same value, cut off from the graph.
  Var detach() const;

  // Adds a backward hook on this Var's gradient; returns an id for remove_hook.
  int register_hook(GradHook hook) const;
  void remove_hook(int id) const;

  // Shortcuts to the value's metadata.
  const Shape& shape() const { return value().shape(); }
  int dim() const { return value().dim(); }
  int64_t size(int64_t axis) const { return value().size(axis); }
  int64_t numel() const { return value().numel(); }
  DType dtype() const { return value().dtype(); }
  Device device() const { return value().device(); }
  double item() const { return value().item(); }

  const std::shared_ptr<VarImpl>& impl() const { return impl_; }
  explicit Var(std::shared_ptr<VarImpl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<VarImpl> impl_;
};

struct VarImpl {
  Tensor value;
  Tensor grad;
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<Node> node;                   // the op that made this Var; null for leaves
  std::weak_ptr<Node> accumulator;              // leaves: the node that accumulates into grad
  std::vector<std::pair<int, GradHook>> hooks;  // leaves: run before accumulating
};

// While a NoGradGuard lives, ops on this thread record nothing (inference,
// optimiser updates). EnableGradGuard turns recording back on inside one.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace gradlab
