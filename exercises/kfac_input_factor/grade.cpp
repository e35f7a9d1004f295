// Grades kfac_input_factor: hand-worked factors with and without the bias
// column, for single tokens and for sequences (expand and reduce), and
// agreement with KFACInfluence::fit on a random batch.
#include "autograd/ops.h"
#include "exercises/grader.h"
#include "exercises/kfac_input_factor/exercise.h"
#include "nn/linear.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;
using influence::KFACTokens;

const ExerciseInfo kExercise{"kfac_input_factor", "K-FAC's input factor A = E[a' a'^T] of a Linear layer"};

namespace {

// KFACInfluence::fit on one Linear layer fed `inputs`: the library's A.
Tensor library_factor(const Tensor& inputs, bool bias, KFACTokens tokens) {
  Generator gen(5);
  auto layer = std::make_shared<nn::Linear>(inputs.size(-1), 3, gen, nn::LinearOptions{bias, DType::f64});
  influence::Problem problem;
  problem.params = influence::linear_params({layer});
  problem.n_train = inputs.size(0);
  problem.linear_layers = {layer};
  problem.batch_size = 4;
  problem.example_losses = [layer, inputs](const std::vector<int64_t>& rows) {
    const Var s = (*layer)(index_select(inputs, 0, from_vector(rows)));
    return s.value().dim() == 2 ? sum(square(s), {1}) : sum(square(s), {1, 2});
  };
  influence::KFACInfluence kfac({.fisher = influence::KFACFisher::empirical, .tokens = tokens});
  kfac.fit(problem);
  return kfac.factors()[0].A;
}

}  // namespace

void grade(Grader& g) {
  g.check("hand-worked: two examples [1, 2] and [3, -1], with and without bias", [] {
    // a' = [1, 2, 1] and [3, -1, 1]: A = ([[1,2,1],[2,4,2],[1,2,1]] + [[9,-3,3],[-3,1,-1],[3,-1,1]]) / 2
    const Tensor x = f64({1, 2, 3, -1}, {2, 2});
    expect_close(kfac_input_factor(x, true, KFACTokens::expand),
                 f64({5, -0.5, 2, -0.5, 2.5, 0.5, 2, 0.5, 1}, {3, 3}), "A (bias)");
    expect_close(kfac_input_factor(x, false, KFACTokens::expand), f64({5, -0.5, -0.5, 2.5}, {2, 2}),
                 "A (no bias)");
  });
  g.check("hand-worked: one sequence of the two tokens, expand and reduce", [] {
    const Tensor x = f64({1, 2, 3, -1}, {1, 2, 2});
    // expand: the same two tokens, so the same A as above
    expect_close(kfac_input_factor(x, true, KFACTokens::expand),
                 f64({5, -0.5, 2, -0.5, 2.5, 0.5, 2, 0.5, 1}, {3, 3}), "A (expand)");
    // reduce: abar = mean of [1, 2, 1] and [3, -1, 1] = [2, 0.5, 1]; A = abar abar^T
    expect_close(kfac_input_factor(x, true, KFACTokens::reduce),
                 f64({4, 1, 2, 1, 0.25, 0.5, 2, 0.5, 1}, {3, 3}), "A (reduce)");
  });
  g.check("agrees with KFACInfluence::fit on [10, 4] single tokens (bias)", [] {
    Generator gen(1);
    const Tensor x = randn({10, 4}, gen, DType::f64);
    expect_close(kfac_input_factor(x, true, KFACTokens::expand), library_factor(x, true, KFACTokens::expand), "A",
                 1e-12, 1e-10);
  });
  g.check("agrees with KFACInfluence::fit on [6, 5, 3] sequences, expand and reduce", [] {
    Generator gen(2);
    const Tensor x = randn({6, 5, 3}, gen, DType::f64);
    for (const KFACTokens t : {KFACTokens::expand, KFACTokens::reduce})
      expect_close(kfac_input_factor(x, true, t), library_factor(x, true, t),
                   t == KFACTokens::expand ? "A (expand)" : "A (reduce)", 1e-12, 1e-10);
  });
}
