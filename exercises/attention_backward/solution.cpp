// The library's answer to attention_backward: the fused kernel autograd's
// attention runs (tensor/fused_layers.h, tensor/cpu/attention.cpp).
#include "exercises/attention_backward/exercise.h"

namespace gradlab::exercise {

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& out, const Tensor& lse, bool causal) {
  return gradlab::attention_backward(dout, q, k, v, out, lse, causal);
}

}  // namespace gradlab::exercise
