// Module bookkeeping: walking the tree of parameters, buffers and children.
#include "nn/module.h"

#include <algorithm>

#include <map>

namespace gradlab::nn {

void Module::check_new_name(const std::string& name) const {
  GL_CHECK(!name.empty() && name.find('.') == std::string::npos,
           "register: name '{}' must be non-empty and contain no '.'", name);
  for (const auto& p : params_) GL_CHECK(p.first != name, "register: '{}' is already a parameter", name);
  for (const auto& b : buffers_) GL_CHECK(b.first != name, "register: '{}' is already a buffer", name);
  for (const auto& c : children_) GL_CHECK(c.first != name, "register: '{}' is already a child module", name);
}

Var Module::register_parameter(const std::string& name, Tensor value, bool trainable) {
  check_new_name(name);
  GL_CHECK(is_floating(value.dtype()), "register_parameter: '{}' must be f32 or f64, got {}", name, value.dtype());
  Var v(std::move(value), trainable);
  params_.push_back({name, v});
  return v;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  buffers_.push_back({name, std::move(value)});
  return buffers_.back().second;
}

const Tensor& Module::buffer(const std::string& name) const {
  const auto it = std::find_if(buffers_.begin(), buffers_.end(), [&](const auto& b) { return b.first == name; });
  GL_CHECK(it != buffers_.end(), "Module::buffer: no buffer named '{}' (this module has {})", name, buffers_.size());
  return it->second;
}

void Module::collect_parameters(const std::string& prefix, std::vector<std::pair<std::string, Var>>& out) const {
  for (const auto& [name, v] : params_) out.push_back({prefix + name, v});
  for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Var>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Var>> out;
  collect_parameters("", out);
  return out;
}

std::vector<Var> Module::parameters() const {
  std::vector<Var> out;
  for (auto& [name, v] : named_parameters()) out.push_back(v);
  return out;
}

std::vector<Var> Module::trainable_parameters() const {
  std::vector<Var> out;
  for (auto& [name, v] : named_parameters())
    if (v.requires_grad()) out.push_back(v);
  return out;
}

int64_t Module::parameter_count(bool trainable_only) const {
  int64_t n = 0;
  for (auto& [name, v] : named_parameters())
    if (!trainable_only || v.requires_grad()) n += v.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::to(Device device) {
  for (auto& [name, v] : params_) {
    v.impl()->value = v.value().to(device);
    v.impl()->grad = Tensor();
  }
  for (auto& [name, b] : buffers_) b = b.to(device);
  for (auto& [name, child] : children_) child->to(device);
}

Device Module::device() const {
  const std::vector<Var> params = parameters();
  return params.empty() ? Device::cpu : params.front().value().device();
}

void Module::freeze() {
  for (auto& [name, v] : named_parameters()) v.requires_grad_(false);
}
void Module::unfreeze() {
  for (auto& [name, v] : named_parameters()) v.requires_grad_(true);
}
void Module::zero_grad() {
  for (auto& [name, v] : named_parameters()) v.zero_grad();
}

void Module::collect_state(const std::string& prefix, NamedTensors& out) const {
  for (const auto& [name, v] : params_) out.push_back({prefix + name, v.value()});
  for (const auto& [name, t] : buffers_) out.push_back({prefix + name, t});
  for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect_state("", out);
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) {
    GL_CHECK(given.emplace(name, &t).second, "load_state_dict: '{}' appears twice", name);
  }
  const NamedTensors mine = state_dict();
  std::map<std::string, bool> known;
  for (const auto& [name, target] : mine) {
    known[name] = true;
    auto it = given.find(name);
    if (it == given.end()) {
      GL_CHECK(!strict, "load_state_dict: '{}' is missing from the state", name);
      continue;
    }
    const Tensor& src = *it->second;
    GL_CHECK(src.shape() == target.shape(), "load_state_dict: '{}' has shape {} in the state but {} in the model", name,
             src.shape(), target.shape());
    GL_CHECK(src.dtype() == target.dtype(), "load_state_dict: '{}' has dtype {} in the state but {} in the model", name,
             src.dtype(), target.dtype());
  }
  if (strict)
    for (const auto& [name, t] : state)
      GL_CHECK(known.count(name), "load_state_dict: '{}' in the state is not in the model", name);
  // Checked first, copied after: a failed load leaves the model untouched.
  NoGradGuard guard;
  for (const auto& [name, target] : mine) {
    auto it = given.find(name);
    if (it == given.end()) continue;
    Tensor dst = target;
    dst.copy_(*it->second);
  }
}

int Module::register_forward_hook(ForwardHook hook) {
  static int next_id = 0;
  forward_hooks_.push_back({++next_id, std::move(hook)});
  return next_id;
}

void Module::remove_forward_hook(int id) {
  std::erase_if(forward_hooks_, [id](const auto& h) { return h.first == id; });
}

void Module::call_forward_hooks(const Var& input, const Var& output) const {
  for (const auto& [id, hook] : forward_hooks_) hook(*this, input, output);
}

}  // namespace gradlab::nn
