// The library's answer to kfac_input_factor: KFACInfluence::fit on a problem of
// one Linear layer that sees `inputs` (algorithms/influence/kfac.cpp), with the
// empirical Fisher; its first factor is A.
#include "autograd/ops.h"
#include "exercises/kfac_input_factor/exercise.h"
#include "nn/linear.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace gradlab::exercise {

Tensor kfac_input_factor(const Tensor& inputs, bool bias, influence::KFACTokens tokens) {
  Generator gen(0);
  auto layer = std::make_shared<nn::Linear>(inputs.size(-1), 2, gen, nn::LinearOptions{bias, DType::f64});
  influence::Problem problem;
  problem.params = influence::linear_params({layer});
  problem.n_train = inputs.size(0);
  problem.linear_layers = {layer};
  problem.example_losses = [layer, inputs](const std::vector<int64_t>& rows) {
    const Tensor x = index_select(inputs, 0, from_vector(rows));
    const Var s = (*layer)(x);  // [B, out] or [B, T, out]
    return s.value().dim() == 2 ? sum(s, {1}) : sum(s, {1, 2});
  };
  influence::KFACInfluence kfac({.fisher = influence::KFACFisher::empirical, .tokens = tokens});
  kfac.fit(problem);
  return kfac.factors()[0].A;
}

}  // namespace gradlab::exercise
