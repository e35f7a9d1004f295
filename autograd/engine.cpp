// The backward pass. From the root's node, a depth-first walk (iterative, so
// long chains cannot overflow the stack) orders the reachable nodes so that
// every node comes after all the nodes that consume its output; walking that
// order, each node runs its hooks, checks that the tensors it saved are
// unchanged, calls its backward function, and adds each input's gradient
// into the pending gradient of that input's node. Leaf accumulator nodes add
// into the leaf's grad. Unless the graph is retained, each node frees its
// saved tensors and its links as soon as it has run.
#include <algorithm>
#include <atomic>

#include "autograd/node.h"
#include "tensor/ops.h"

namespace gradlab {

namespace {

// Nodes reachable from root, each after every node that feeds gradient into it
// (reverse topological order of the data flow). The list holds owning
// pointers: releasing a node's links during the pass must not free a node
// that is still to run.
std::vector<std::shared_ptr<Node>> backward_order(const std::shared_ptr<Node>& root) {
  // Each pass marks the nodes it has reached with a number of its own.
  static std::atomic<uint64_t> passes{0};
  const uint64_t pass = ++passes;
  std::vector<std::shared_ptr<Node>> post;  // post-order: inputs before consumers
  root->visited = pass;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->next.size()) {
      const std::shared_ptr<Node>& child = node->next[next++].node;
      if (child != nullptr && child->visited != pass) {
        child->visited = pass;
        stack.push_back({child, 0});
      }
      continue;
    }
    post.push_back(std::move(node));
    stack.pop_back();
  }
  std::reverse(post.begin(), post.end());
  return post;
}

// a + b for two gradients of one Var. bf16 has no add of its own: it sums in
// f32 and rounds once.
Tensor add_gradients(const Tensor& a, const Tensor& b) {
  if (a.dtype() != DType::bf16) return add(a, b);
  return add(a.to(DType::f32), b.to(DType::f32)).to(DType::bf16);
}

// Whether g alone holds its storage (an op's backward may hand one tensor to
// several inputs, a hook may keep it, a node may have saved it) and is all of
// it, in order (a view would keep alive, and let a grad reach, memory beyond
// it). Such a gradient may become a leaf's grad as it is, or be added into.
bool sole_owner(const Tensor& g) {
  return g.storage().use_count() == 1 && g.offset() == 0 && g.is_contiguous() &&
         size_t(g.numel()) * dtype_size(g.dtype()) == g.storage()->nbytes;
}

// sum + g, or g when sum is undefined. When nothing else holds sum, the sums
// are written over it (the same element-wise additions, one tensor fewer):
// pass sum by std::move, or it is held twice.
Tensor accumulate(Tensor sum, const Tensor& g) {
  if (!sum.defined()) return g;
  if (sum.dtype() != DType::bf16 && sum.dtype() == g.dtype() && sum.shape() == g.shape() && sole_owner(sum)) {
    kernel(&Backend::binary, sum.device(), "accumulate")(BinaryOp::add, sum, g, sum);
    sum.bump_version();
    return sum;
  }
  return add_gradients(sum, g);
}

Tensor run_hooks(const std::vector<std::pair<int, GradHook>>& hooks, Tensor g, std::string_view where) {
  for (const auto& [id, hook] : hooks) {
    Tensor replaced = hook(g);
    if (!replaced.defined()) continue;
    GL_CHECK(replaced.shape() == g.shape(), "backward hook on {}: returned a gradient of shape {} for one of shape {}",
             where, replaced.shape(), g.shape());
    g = std::move(replaced);
  }
  return g;
}

// A leaf's first gradient is taken as it is when nothing else holds it, and
// copied otherwise: a leaf's grad must be its own.
void accumulate_into_leaf(Node& acc, Tensor g) {
  VarImpl& leaf = *acc.leaf;
  g = run_hooks(leaf.hooks, std::move(g), "a leaf");
  if (leaf.grad.defined())
    leaf.grad = accumulate(std::move(leaf.grad), g);
  else
    leaf.grad = sole_owner(g) ? std::move(g) : g.clone();
}

void release(Node& node) {
  node.released = true;
  node.saved.clear();
  node.saved.shrink_to_fit();
  node.backward = nullptr;
  node.next.clear();
  node.next.shrink_to_fit();
}

void run_node(Node& node, bool retain_graph) {
  Tensor g = std::move(node.pending_grad);
  node.pending_grad = Tensor();
  if (node.leaf) {
    accumulate_into_leaf(node, std::move(g));
    return;
  }
  GL_CHECK(!node.released,
           "backward through '{}' a second time: its graph was freed by the first backward "
           "(pass retain_graph = true to the first one)",
           node.op->name);
  g = run_hooks(node.hooks, std::move(g), node.op->name);
  if (auto out = node.output.lock(); out && out->retains_grad) out->grad = accumulate(std::move(out->grad), g);
  for (size_t i = 0; i < node.saved.size(); ++i)
    GL_CHECK(node.saved[i].version() == node.saved_versions[i],
             "{}: a tensor it saved for backward (saved tensor {}, shape {}) was modified in place after the "
             "forward pass (version {} now, {} when saved); compute the gradient before changing it, or clone it",
             node.op->name, i, node.saved[i].shape(), node.saved[i].version(), node.saved_versions[i]);
  std::vector<bool> needs(node.next.size());
  bool any = false;
  for (size_t i = 0; i < node.next.size(); ++i) {
    needs[i] = node.next[i].node != nullptr;
    any = any || needs[i];
  }
  if (any) {
    const GradContext ctx{g, node.saved, node.input_shapes, needs};
    const std::vector<Tensor> grads = node.backward(ctx);
    GL_CHECK(grads.size() == node.next.size(), "{} backward: returned {} gradients for {} inputs", node.op->name,
             grads.size(), node.next.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!needs[i] || !grads[i].defined()) continue;
      GL_CHECK(grads[i].shape() == node.input_shapes[i], "{} backward: gradient of shape {} for input {} of shape {}",
               node.op->name, grads[i].shape(), i, node.input_shapes[i]);
      Node& into = *node.next[i].node;
      into.pending_grad = accumulate(std::move(into.pending_grad), grads[i]);
    }
  }
  if (!retain_graph) release(node);
}

}  // namespace

void Var::backward(const Tensor& cotangent, bool retain_graph) const {
  GL_CHECK(impl_ != nullptr, "backward: the Var is undefined");
  const Tensor& value = impl_->value;
  GL_CHECK(impl_->requires_grad,
           "backward: this Var does not require a gradient (no input of the ops that made it requires one)");
  Tensor seed = cotangent;
  if (!seed.defined()) {
    GL_CHECK(value.numel() == 1,
             "backward: called on a Var of shape {} without a cotangent; only a single-element Var (a loss) can "
             "start backward on its own",
             value.shape());
    seed = ones_like(value);
  } else {
    GL_CHECK(seed.shape() == value.shape(), "backward: cotangent of shape {} for a Var of shape {}", seed.shape(),
             value.shape());
    GL_CHECK(seed.dtype() == value.dtype(), "backward: cotangent of dtype {} for a Var of dtype {}", seed.dtype(),
             value.dtype());
  }
  if (!impl_->node) {  // a leaf: its gradient is the cotangent
    Node acc;
    acc.leaf = impl_;
    accumulate_into_leaf(acc, seed);
    return;
  }
  const std::shared_ptr<Node>& root = impl_->node;
  GL_CHECK(!root->released,
           "backward through '{}' a second time: its graph was freed by the first backward "
           "(pass retain_graph = true to the first one)",
           root->op->name);
  const std::vector<std::shared_ptr<Node>> order = backward_order(root);
  root->pending_grad = seed;
  try {
    for (const auto& node : order)
      if (node->pending_grad.defined()) run_node(*node, retain_graph);
  } catch (...) {
    for (const auto& node : order) node->pending_grad = Tensor();  // leave the graph clean for another try
    throw;
  }
}

}  // namespace gradlab
