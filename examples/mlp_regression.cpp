// A first gradlab program: fit y = sin(x) on [-3, 3] with a small MLP and Adam.
// Shows the three pieces every training loop has: a model (nn::MLP), a loss
// built from autograd ops, and an optimiser that steps on the gradients.
//   build/examples/mlp_regression [steps]      (default 2000)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "autograd/ops.h"
#include "nn/layers.h"
#include "optim/adam.h"

using namespace gradlab;

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 2000;
  if (steps <= 0) {
    std::fprintf(stderr, "usage: mlp_regression [steps > 0]\n");
    return 2;
  }
  Generator gen(0);
  // 256 training points x in [-3, 3], targets sin(x): tensors [256, 1].
  const Tensor x = uniform({256, 1}, -3.0, 3.0, gen);
  std::vector<float> sines;
  for (float v : x.to_vector<float>()) sines.push_back(std::sin(v));
  const Tensor y = from_vector(sines, {256, 1});
  // 1 -> 64 -> 64 -> 1 with tanh between the layers.
  nn::MLP model({1, 64, 64, 1}, gen, {.activation = nn::Activation::tanh});
  optim::Adam opt(model.parameters(), {.lr = 3e-3});
  double loss = 0;
  for (int step = 1; step <= steps; ++step) {
    const Var l = mse(model(Var(x)), Var(y));  // the graph is recorded as the ops run
    opt.zero_grad();
    l.backward();  // fills every parameter's .grad
    opt.step();
    loss = l.item();
    if (step % 500 == 0 || step == steps) std::printf("step %5d  mse %.6f\n", step, loss);
  }
  // Predictions without recording a graph.
  NoGradGuard no_grad;
  const Tensor probe = linspace(-3, 3, 5).reshape({5, 1});
  const std::vector<float> pred = model(Var(probe)).value().to_vector<float>();
  const std::vector<float> at = probe.to_vector<float>();
  for (size_t i = 0; i < pred.size(); ++i)
    std::printf("x = %+.2f  model %+.3f  sin %+.3f\n", at[i], pred[i], std::sin(at[i]));
  return std::isfinite(loss) ? 0 : 1;
}
