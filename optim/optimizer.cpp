// The Optimizer base: parameter-list checks, the learning rate, zero_grad, and
// the checkpointable state (per-parameter slots plus the step count).
#include "optim/optimizer.h"

#include <cmath>
#include <map>
#include <unordered_map>

#include "tensor/creation.h"

namespace gradlab::optim {

Optimizer::Optimizer(std::string name, std::vector<Var> params, double lr)
    : name_(std::move(name)), params_(std::move(params)), lr_(0) {
  GL_CHECK(!params_.empty(), "{}: got an empty parameter list", name_);
  std::unordered_map<const VarImpl*, size_t> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Var& p = params_[i];
    GL_CHECK(p.defined(), "{}: parameter {} is an undefined Var", name_, i);
    GL_CHECK(p.is_leaf(), "{}: parameter {} (shape {}) was made by an op; parameters must be leaves", name_, i,
             p.shape());
    GL_CHECK(p.requires_grad(), "{}: parameter {} (shape {}) does not require a gradient (pass trainable_parameters())",
             name_, i, p.shape());
    const auto [it, fresh] = seen.emplace(p.impl().get(), i);
    GL_CHECK(fresh, "{}: parameter {} is the same Var as parameter {} (each parameter may appear once)", name_, i,
             it->second);
  }
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  GL_CHECK(std::isfinite(lr) && lr >= 0, "{}: lr must be finite and >= 0, got {}", name_, lr);
  lr_ = lr;
}

void Optimizer::zero_grad() {
  for (const Var& p : params_) p.zero_grad();
}

size_t Optimizer::add_slot(const std::string& name) {
  Slot s{name, {}};
  s.tensors.reserve(params_.size());
  for (const Var& p : params_) s.tensors.push_back(zeros_like(p.value()));
  slots_.push_back(std::move(s));
  return slots_.size() - 1;
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i)
    for (const Slot& s : slots_) out.emplace_back(fmt::format("{}.{}", i, s.name), s.tensors[i].clone());
  out.emplace_back("step", scalar(double(step_count_), DType::i64));
  return out;
}

void Optimizer::load_state(const NamedTensors& state) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : state) {
    GL_CHECK(given.emplace(name, &t).second, "{}: load_state: '{}' appears twice", name_, name);
    GL_CHECK(t.defined(), "{}: load_state: '{}' is an undefined tensor", name_, name);
  }
  // Check everything before changing anything.
  std::vector<std::pair<const Tensor*, Tensor>> copies;  // (source, destination)
  for (size_t i = 0; i < params_.size(); ++i) {
    for (const Slot& s : slots_) {
      const std::string name = fmt::format("{}.{}", i, s.name);
      const auto it = given.find(name);
      GL_CHECK(it != given.end(), "{}: load_state: '{}' is missing", name_, name);
      const Tensor& src = *it->second;
      const Tensor& dst = s.tensors[i];
      GL_CHECK(src.shape() == dst.shape() && src.dtype() == dst.dtype(),
               "{}: load_state: '{}' has shape {} and dtype {} but parameter {} needs shape {} and dtype {}", name_,
               name, src.shape(), src.dtype(), i, dst.shape(), dst.dtype());
      copies.emplace_back(&src, dst);
      given.erase(it);
    }
  }
  const auto step = given.find("step");
  GL_CHECK(step != given.end(), "{}: load_state: 'step' is missing", name_);
  const Tensor& st = *step->second;
  GL_CHECK(is_integral(st.dtype()) && st.numel() == 1, "{}: load_state: 'step' must be one integer, got {} of shape {}",
           name_, st.dtype(), st.shape());
  const int64_t step_count = st.item<int64_t>();
  GL_CHECK(step_count >= 0, "{}: load_state: 'step' must be >= 0, got {}", name_, step_count);
  given.erase(step);
  GL_CHECK(given.empty(), "{}: load_state: unexpected '{}' ({} parameters, {} state slots each, and 'step')", name_,
           given.begin()->first, params_.size(), slots_.size());
  for (auto& [src, dst] : copies) dst.copy_(*src);
  step_count_ = step_count;
}

}  // namespace gradlab::optim
