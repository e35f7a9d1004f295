// Exercise matmul (exercises/matmul/statement.md). Write the body below, then
// grade it with:  make exercise NAME=matmul
#include "exercises/grader.h"
#include "exercises/matmul/exercise.h"
#include "tensor/creation.h"
#include "tensor/error.h"

namespace gradlab::exercise {

// C[i, j] = sum_k A[i, k] B[k, j]; check the shapes; read A and B through their strides (or contiguous()).
Tensor matmul(const Tensor& a, const Tensor& b) {
  throw NotImplemented("matmul");
}

}  // namespace gradlab::exercise
