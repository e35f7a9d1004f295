// Exercise kfac_input_factor (exercises/kfac_input_factor/statement.md). Write
// the body below, then grade it with:  make exercise NAME=kfac_input_factor
#include "exercises/grader.h"
#include "exercises/kfac_input_factor/exercise.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

// expand: A = (1 / (N T)) sum over tokens a' a'^T; reduce: A = (1 / N) sum_n abar_n abar_n^T.
Tensor kfac_input_factor(const Tensor& inputs, bool bias, influence::KFACTokens tokens) {
  throw NotImplemented("kfac_input_factor");
}

}  // namespace gradlab::exercise
