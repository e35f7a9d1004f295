// The library's answer to cross_entropy_backward: the fused kernel autograd's
// cross_entropy runs (tensor/fused_losses.h, tensor/cpu/cross_entropy.cpp).
#include "exercises/cross_entropy_backward/exercise.h"
#include "tensor/fused_losses.h"

namespace gradlab::exercise {

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss) {
  return gradlab::cross_entropy_backward(logits, target, lse, dloss);
}

}  // namespace gradlab::exercise
