// LinearCapture: what K-FAC-style estimators read from Linear layers during a
// forward/backward pass. For a layer s = W a + b, each forward call records
// its input a [B, (T,) in] (a forward hook) and registers a backward hook on
// its output s that records D = dL/ds [B, (T,) out], the gradient flowing into
// s. From these, the layer's weight gradient is G = sum_t D_t a_t^T per row.
//
// The forward hooks live exactly as long as the LinearCapture: the destructor
// removes them, also when a pass throws. Backward hooks sit on the graph of
// the pass that made them and go away with it.
#pragma once

#include <memory>
#include <vector>

#include "nn/linear.h"

namespace gradlab::influence {

class LinearCapture {
 public:
  // One forward call of a layer: its input, and the gradient of its output
  // once a backward pass reached it (undefined otherwise).
  struct Call {
    Tensor input;
    Tensor grad_output;
  };

  explicit LinearCapture(std::vector<std::shared_ptr<nn::Linear>> layers);
  ~LinearCapture();
  LinearCapture(const LinearCapture&) = delete;
  LinearCapture& operator=(const LinearCapture&) = delete;

  // The calls of layer `layer` (its index in the list) since the last clear().
  const std::vector<Call>& calls(size_t layer) const;
  // Forgets every recorded call (backward hooks of earlier passes then record nothing).
  void clear();

 private:
  struct Store {
    std::vector<std::vector<Call>> calls;  // per layer
    uint64_t generation = 0;               // bumped by clear()
  };
  std::vector<std::shared_ptr<nn::Linear>> layers_;
  std::vector<int> hook_ids_;
  std::shared_ptr<Store> store_;
};

// A layer's captured tensors as token matrices [B, T, features]: the axes
// between the first and the last are merged into T (T = 1 for [B, features]).
// With append_one, a constant 1 is appended to the features (the bias column
// of a = (x, 1)).
Tensor as_tokens(const Tensor& t, bool append_one, const char* op);

}  // namespace gradlab::influence
