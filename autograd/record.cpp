// Recording: the op registry, making a Node for a differentiable op's output,
// and the forward hooks that see every op's inputs and output.
#include <algorithm>

#include "autograd/node.h"
#include "tensor/pool.h"

namespace gradlab {

namespace {
std::vector<const OpInfo*>& registry() {
  static std::vector<const OpInfo*> ops;
  return ops;
}
thread_local std::vector<std::pair<int, ForwardHook>> g_forward_hooks;
thread_local uint64_t g_sequence = 0;
}  // namespace

OpInfo::OpInfo(const char* n, const char* f) : name(n), file(f) { registry().push_back(this); }
const std::vector<const OpInfo*>& op_registry() { return registry(); }

Node::~Node() {
  std::vector<std::shared_ptr<Node>> doomed;
  for (Edge& e : next)
    if (e.node) doomed.push_back(std::move(e.node));
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    if (n.use_count() == 1)  // we hold the last reference: take its children before it goes
      for (Edge& e : n->next)
        if (e.node) doomed.push_back(std::move(e.node));
  }
}

int add_forward_hook(ForwardHook hook) {
  static int id = 0;
  g_forward_hooks.push_back({++id, std::move(hook)});
  return id;
}
void remove_forward_hook(int id) {
  std::erase_if(g_forward_hooks, [id](const auto& h) { return h.first == id; });
}

namespace {

// The node a gradient for input `v` flows into: the op that made it, or the
// accumulator of a leaf (made once and shared by every use of that leaf).
std::shared_ptr<Node> gradient_edge(const Var& v) {
  const auto& impl = v.impl();
  if (impl->node) return impl->node;
  if (auto acc = impl->accumulator.lock()) return acc;
  auto acc = std::allocate_shared<Node>(pool::Allocator<Node>{});
  acc->leaf = impl;
  acc->output_shape = impl->value.shape();
  acc->output_dtype = impl->value.dtype();
  impl->accumulator = acc;
  return acc;
}

}  // namespace

Var record(const OpInfo& op, Tensor value, const std::vector<Var>& inputs, std::vector<Tensor> saved,
           BackwardFn backward) {
  bool any = false;
  if (grad_enabled())
    for (const Var& v : inputs) any = any || (v.defined() && v.requires_grad());
  Var out(std::move(value), false);
  if (any) {
    GL_CHECK(is_floating(out.value().dtype()), "{}: an op that records a gradient must produce a floating tensor",
             op.name);
    auto node = std::allocate_shared<Node>(pool::Allocator<Node>{});
    node->op = &op;
    node->next.reserve(inputs.size());
    node->input_shapes.reserve(inputs.size());
    for (const Var& v : inputs) {
      node->next.push_back({v.defined() && v.requires_grad() ? gradient_edge(v) : nullptr});
      node->input_shapes.push_back(v.defined() ? v.shape() : Shape{});
    }
    node->saved_versions.reserve(saved.size());
    node->saved.reserve(saved.size());
    for (Tensor& t : saved) {
      node->saved_versions.push_back(t.version());
      node->saved.push_back(std::move(t));
    }
    node->backward = std::move(backward);
    node->output_shape = out.value().shape();
    node->output_dtype = out.value().dtype();
    node->sequence = ++g_sequence;
    node->output = out.impl();
    out.impl()->requires_grad = true;
    out.impl()->node = std::move(node);
  }
  if (!g_forward_hooks.empty()) {
    const auto hooks = g_forward_hooks;  // a hook may add or remove hooks
    for (const auto& [id, hook] : hooks) hook(op, inputs, out);
  }
  return out;
}

}  // namespace gradlab
