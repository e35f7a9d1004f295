// Module: the base of every layer and model. A module owns named parameters
// (leaf Vars), buffers (tensors saved with the model but not trained) and
// child modules, and answers for the whole tree: parameters with dotted names
// ("blocks.0.attn.qkv.weight"), train/eval, freeze/unfreeze, parameter count,
// moving to a device, and the state dict that checkpoints read and write.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "tensor/named_tensors.h"

namespace gradlab::nn {

using gradlab::NamedTensors;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // Copying would silently share parameters between two modules.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its children, in registration order.
  std::vector<std::pair<std::string, Var>> named_parameters() const;
  std::vector<Var> parameters() const;
  std::vector<Var> trainable_parameters() const;  // those that require gradients
  int64_t parameter_count(bool trainable_only = false) const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const { return children_; }

  // train() turns on training behaviour (dropout) for the whole tree; eval() off.
  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }

  // Moves every parameter and buffer of the tree to `device` (parameters in
  // place: the same Vars, new values; gradients are dropped). Modules read
  // their buffers through buffer(name), so they see the moved ones, and
  // load_state_dict copies into them wherever they are.
  void to(Device device);
  // The device of its first parameter (cpu when it has none): where the
  // tensors an algorithm builds for this model go.
  Device device() const;

  // Stop (or resume) computing gradients for every parameter in the tree.
  void freeze();
  void unfreeze();
  void zero_grad();

  // Parameter values and buffers by dotted name (views of the live tensors).
  NamedTensors state_dict() const;
  // Copies values in by name. strict: every name must match both ways; in any
  // case shapes and dtypes must match. The first mismatch is reported by name.
  void load_state_dict(const NamedTensors& state, bool strict = true);

  // Forward hooks: modules that support them (Linear) call these with their
  // input and output on every forward, e.g. to capture activations.
  using ForwardHook = std::function<void(const Module& module, const Var& input, const Var& output)>;
  int register_forward_hook(ForwardHook hook);
  void remove_forward_hook(int id);

 protected:
  // A parameter: a leaf Var, trainable unless said otherwise.
  Var register_parameter(const std::string& name, Tensor value, bool trainable = true);
  Tensor& register_buffer(const std::string& name, Tensor value);
  // This module's buffer of that name, wherever to() has moved it. Read it
  // here on each use rather than keeping a copy, which to() would leave behind.
  const Tensor& buffer(const std::string& name) const;
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    check_new_name(name);
    children_.push_back({name, module});
    return module;
  }
  void call_forward_hooks(const Var& input, const Var& output) const;
  bool has_forward_hooks() const { return !forward_hooks_.empty(); }

 private:
  void check_new_name(const std::string& name) const;
  void collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const;
  void collect_state(const std::string& prefix, NamedTensors& out) const;

  std::vector<std::pair<std::string, Var>> params_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<std::pair<int, ForwardHook>> forward_hooks_;
  bool training_ = true;
};

// A numbered list of child modules, named "0", "1", ... (so parameters read
// "blocks.0.attn.qkv.weight").
class ModuleList : public Module {
 public:
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return register_module(std::to_string(size_++), std::move(module));
  }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

}  // namespace gradlab::nn
