// The recorded graph. Every differentiable op that runs with an input that
// requires a gradient makes one Node: its OpInfo (name), one Edge per input
// (to the Node that made that input, or to the accumulator of a leaf), the
// tensors it saved for backward with their versions, and its backward
// function. Nodes point only backwards, to their inputs' nodes, so the graph
// keeps alive what backward needs and nothing else.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "autograd/var.h"
#include "tensor/pool.h"

namespace gradlab {

// The identity of a differentiable op. Declared once per op with GL_OP, next
// to its forward and backward; the declaration registers it, so that a test
// can walk every differentiable op and demand a gradcheck spec for each.
struct OpInfo {
  OpInfo(const char* name, const char* file);
  const char* name;
  const char* file;
};
const std::vector<const OpInfo*>& op_registry();

#define GL_OP(ident, name) \
  static const ::gradlab::OpInfo ident { name, __FILE__ }

// What an op's backward function receives.
struct GradContext {
  const Tensor& dout;               // gradient of the op's output
  std::span<const Tensor> saved;    // the tensors the op saved, in order
  std::span<const Shape> shapes;    // each input's shape
  const std::vector<bool>& needs;   // whether input i needs a gradient
  bool need(size_t i) const { return needs[i]; }
};
// Returns one gradient per input, shaped like that input; an undefined Tensor
// where none is needed (or it is zero).
using BackwardFn = std::function<std::vector<Tensor>(const GradContext&)>;

struct Node;
struct Edge {
  std::shared_ptr<Node> node;  // null when that input needs no gradient
};

struct Node {
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Frees the chain of nodes only this one keeps alive without recursing, so
  // that dropping a graph of a million ops cannot overflow the stack.
  ~Node();

  const OpInfo* op = nullptr;
  pool::Vector<Edge> next;                // one per input
  pool::Vector<Tensor> saved;             // kept for backward
  pool::Vector<uint64_t> saved_versions;  // their versions when saved
  pool::Vector<Shape> input_shapes;
  BackwardFn backward;
  std::vector<std::pair<int, GradHook>> hooks;  // see (and may replace) the output gradient
  std::weak_ptr<VarImpl> output;                // for retain_grad
  Shape output_shape;
  DType output_dtype = DType::f32;
  uint64_t sequence = 0;          // creation order
  bool released = false;          // saved tensors freed by a backward pass
  std::shared_ptr<VarImpl> leaf;  // set on a leaf's accumulator node only

  // scratch of the backward pass
  Tensor pending_grad;
  uint64_t visited = 0;  // the backward pass that last ordered this node
};

// Records the output of a differentiable op: `value` computed from `inputs`,
// with `saved` tensors kept for `backward`. Returns a constant Var when
// recording is off or no input requires a gradient. Forward hooks run here.
Var record(const OpInfo& op, Tensor value, const std::vector<Var>& inputs, std::vector<Tensor> saved,
           BackwardFn backward);

// Forward hooks: called after every differentiable op with its OpInfo, its
// inputs and its output, on this thread, whether or not it records a node
// (e.g. to capture the input activations of each layer). Returns an id.
using ForwardHook = std::function<void(const OpInfo& op, const std::vector<Var>& inputs, const Var& output)>;
int add_forward_hook(ForwardHook hook);
void remove_forward_hook(int id);

}  // namespace gradlab
