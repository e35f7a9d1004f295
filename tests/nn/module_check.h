// Test helper for tests/nn: checks a module's parameter gradients against
// central differences in f64. For every parameter, a few elements are nudged
// by +-eps in place and the loss recomputed.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "nn/module.h"

namespace nn_test {

using gradlab::Tensor;
using gradlab::Var;

// loss() must rebuild the graph from the module's current parameters.
inline void check_module_gradients(const gradlab::nn::Module& module, const std::function<Var()>& loss,
                                   int per_param = 6, double eps = 1e-6, double tol = 1e-6) {
  for (auto& [name, p] : module.named_parameters()) p.zero_grad();
  loss().backward();
  uint64_t pick = 12345;
  for (auto& [name, p] : module.named_parameters()) {
    if (!p.requires_grad()) continue;
    REQUIRE_MESSAGE(p.dtype() == gradlab::DType::f64, name << " must be f64 for a gradient check");
    const Tensor analytic = p.grad().defined() ? p.grad().contiguous() : gradlab::zeros_like(p.value());
    Tensor value = p.value();
    REQUIRE(value.is_contiguous());
    double* data = value.data<double>();
    for (int s = 0; s < per_param && s < value.numel(); ++s) {
      pick = pick * 6364136223846793005ULL + 1442695040888963407ULL;
      const int64_t i = int64_t((pick >> 33) % uint64_t(value.numel()));
      const double orig = data[i];
      data[i] = orig + eps;
      value.bump_version();
      double plus, minus;
      {
        gradlab::NoGradGuard guard;
        plus = loss().item();
      }
      data[i] = orig - eps;
      value.bump_version();
      {
        gradlab::NoGradGuard guard;
        minus = loss().item();
      }
      data[i] = orig;
      value.bump_version();
      const double numeric = (plus - minus) / (2 * eps);
      const double got = analytic.data<double>()[i];
      CHECK_MESSAGE(std::fabs(got - numeric) <= tol * (1 + std::fabs(numeric)),
                    name << "[" << i << "]: analytic " << got << ", numeric " << numeric);
    }
  }
}

}  // namespace nn_test
