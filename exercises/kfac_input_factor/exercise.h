// Exercise kfac_input_factor: K-FAC's input factor A of one Linear layer.
#pragma once

#include "algorithms/influence/kfac.h"

namespace gradlab::exercise {

// The inputs a Linear layer s = W a + b saw: [N, in] (one token per example)
// or [N, T, in] (T tokens). a' = (a, 1) with a bias, a' = a without. Returns
// A [in', in'] (f64):
//   expand: A = mean over all N T tokens of a' a'^T
//   reduce: A = mean over examples n of abar_n abar_n^T, abar_n = mean_t a'_t
Tensor kfac_input_factor(const Tensor& inputs, bool bias, influence::KFACTokens tokens);

}  // namespace gradlab::exercise
