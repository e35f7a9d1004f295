// Gradient checking. gradcheck compares the gradients autograd computes with
// central differences in f64: for a random cotangent v of the output y = f(x),
// the analytic input gradients of <v, y> against (<v, f(x + h e_i)> -
// <v, f(x - h e_i)>) / 2h for every element i of every input.
//
// Each differentiable op registers one or more specs next to its forward and
// backward, with GL_GRADCHECK; tests/autograd walks the op registry, fails for
// any op without a spec, and runs every spec.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "autograd/node.h"

namespace gradlab {

// One differentiated input: its shape and the range its values are drawn
// from (keep it away from kinks: log needs x > 0, abs needs x != 0...).
struct GradInput {
  Shape shape;
  double lo = -1.0, hi = 1.0;
};
using Vars = std::vector<Var>;

struct GradcheckOptions {
  double eps = 1e-6;   // the finite-difference step
  double atol = 1e-7;  // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-5;
  uint64_t seed = 0;  // inputs and cotangent
  // Where f runs: its inputs and the cotangent are put there. A device whose
  // memory the host reads (cpu, ref), since the inputs are perturbed in place.
  Device device = Device::cpu;
};

struct GradcheckResult {
  bool ok = true;
  double max_error = 0;  // the largest |analytic - numeric|
  std::string message;   // the first mismatches, when !ok
};

// Checks f at f64 inputs drawn from `inputs`.
GradcheckResult gradcheck(const std::function<Var(const Vars&)>& f, const std::vector<GradInput>& inputs,
                          const GradcheckOptions& options = {});
// Checks f at the given inputs (converted to f64 leaves).
GradcheckResult gradcheck_at(const std::function<Var(const Vars&)>& f, const std::vector<Tensor>& inputs,
                             const GradcheckOptions& options = {});

struct GradcheckSpec {
  const OpInfo* op = nullptr;
  std::string label{};
  std::vector<GradInput> inputs{};
  std::function<Var(const Vars&)> f{};
  GradcheckOptions options{};
};
bool register_gradcheck(GradcheckSpec spec);
const std::vector<GradcheckSpec>& gradcheck_registry();

}  // namespace gradlab

#define GL_CONCAT_INNER(a, b) a##b
#define GL_CONCAT(a, b) GL_CONCAT_INNER(a, b)
// GL_GRADCHECK(kMul, "broadcast", {{{3, 1, 4}}, {{2, 4}}}, [](const Vars& x) { return x[0] * x[1]; });
// An optional last argument gives GradcheckOptions (tolerances, step).
#define GL_GRADCHECK(op, label, ...) \
  static const bool GL_CONCAT(gl_gradcheck_, __COUNTER__) = ::gradlab::register_gradcheck({&op, label, __VA_ARGS__})
