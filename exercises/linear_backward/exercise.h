// Exercise linear_backward: the three gradients of a Linear layer.
#pragma once

#include "tensor/tensor.h"

namespace gradlab::exercise {

struct LinearGrads {
  Tensor dx;       // [N, in]
  Tensor dweight;  // [out, in]
  Tensor dbias;    // [out]
};

// y = x W^T + b for x [N, in], W [out, in], b [out]. From dout = dL/dy [N, out]:
//   dx = dout W,   dW = dout^T x,   db = sum over the rows of dout.
LinearGrads linear_backward(const Tensor& dout, const Tensor& x, const Tensor& weight);

}  // namespace gradlab::exercise
