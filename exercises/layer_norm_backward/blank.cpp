// Exercise layer_norm_backward (exercises/layer_norm_backward/statement.md).
// Write the body below, then grade it with:  make exercise NAME=layer_norm_backward
#include "exercises/grader.h"
#include "exercises/layer_norm_backward/exercise.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// dx = rstd (g - mean(g) - xhat mean(g xhat)) with g = dy weight; dweight = sum_rows dy xhat; dbias = sum_rows dy.
LayerNormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                   const Tensor& rstd) {
  throw NotImplemented("layer_norm_backward");
}

}  // namespace gradlab::exercise
