// Var's methods and the thread-local switch that turns graph recording off.
#include "autograd/var.h"

#include "autograd/node.h"
#include "tensor/ops.h"
#include "tensor/pool.h"

namespace gradlab {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }
EnableGradGuard::EnableGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = true; }
EnableGradGuard::~EnableGradGuard() { g_grad_enabled = previous_; }

Var::Var(Tensor value, bool requires_grad) : impl_(std::allocate_shared<VarImpl>(pool::Allocator<VarImpl>{})) {
  GL_CHECK(value.defined(), "Var: the value is an undefined tensor");
  GL_CHECK(!requires_grad || is_floating(value.dtype()), "Var: only floating tensors can require gradients, got {}",
           value.dtype());
  impl_->value = std::move(value);
  impl_->requires_grad = requires_grad;
}

namespace {
const VarImpl& checked(const std::shared_ptr<VarImpl>& impl, std::string_view what) {
  GL_CHECK(impl != nullptr, "{}: the Var is undefined", what);
  return *impl;
}
}  // namespace

const Tensor& Var::value() const { return checked(impl_, "value").value; }
const Tensor& Var::grad() const { return checked(impl_, "grad").grad; }
bool Var::requires_grad() const { return checked(impl_, "requires_grad").requires_grad; }
bool Var::is_leaf() const { return checked(impl_, "is_leaf").node == nullptr; }
const std::shared_ptr<Node>& Var::node() const { return checked(impl_, "node").node; }

void Var::set_grad(Tensor grad) const {
  checked(impl_, "set_grad");
  GL_CHECK(!grad.defined() || grad.shape() == impl_->value.shape(),
           "set_grad: gradient of shape {} for a Var of shape {}", grad.shape(), impl_->value.shape());
  impl_->grad = std::move(grad);
}

void Var::zero_grad() const { checked(impl_, "zero_grad"), impl_->grad = Tensor(); }

const Var& Var::requires_grad_(bool on) const {
  checked(impl_, "requires_grad_");
  GL_CHECK(impl_->node == nullptr,
           "requires_grad_: only leaves can change it; this Var was made by '{}' (use detach())",
           impl_->node->op->name);
  GL_CHECK(!on || is_floating(impl_->value.dtype()),
           "requires_grad_: only floating tensors can require gradients, got {}", impl_->value.dtype());
  impl_->requires_grad = on;
  return *this;
}

void Var::retain_grad() const {
  checked(impl_, "retain_grad");
  GL_CHECK(impl_->requires_grad, "retain_grad: the Var does not require a gradient");
  impl_->retains_grad = true;
}

Var Var::detach() const { return Var(checked(impl_, "detach").value, false); }

namespace {
int next_hook_id() {
  static int id = 0;
  return ++id;
}
}  // namespace

int Var::register_hook(GradHook hook) const {
  checked(impl_, "register_hook");
  GL_CHECK(impl_->requires_grad, "register_hook: the Var does not require a gradient, so no gradient reaches it");
  const int id = next_hook_id();
  if (impl_->node)
    impl_->node->hooks.push_back({id, std::move(hook)});
  else
    impl_->hooks.push_back({id, std::move(hook)});
  return id;
}

void Var::remove_hook(int id) const {
  checked(impl_, "remove_hook");
  auto& hooks = impl_->node ? impl_->node->hooks : impl_->hooks;
  std::erase_if(hooks, [id](const auto& h) { return h.first == id; });
}

}  // namespace gradlab
