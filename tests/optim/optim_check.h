// Test helpers for tests/optim: f64 parameters from literals, gradients set
// by hand, and element-by-element comparison with a tolerance that names the
// worst element.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/var.h"
#include "tensor/ops.h"

namespace optim_test {

using gradlab::DType;
using gradlab::Tensor;
using gradlab::Var;

inline Tensor t64(std::initializer_list<double> v) { return gradlab::tensor(v, {}, DType::f64); }
inline Var param(std::initializer_list<double> v) { return Var::leaf(t64(v)); }
inline void set_grad(const Var& p, std::initializer_list<double> g) { p.set_grad(t64(g)); }

// Every element of t within tol of want; one assertion, naming the worst element.
inline void check_values(const Tensor& t, const std::vector<double>& want, double tol, const std::string& what = "") {
  const std::vector<double> got = t.to_vector<double>();
  REQUIRE_MESSAGE(got.size() == want.size(), what);
  size_t worst = 0;
  double worst_err = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::abs(got[i] - want[i]);
    if (err > worst_err || std::isnan(err)) worst = i, worst_err = err;
    if (std::isnan(err)) break;  // NaN is the worst
  }
  if (got.empty()) return;
  CHECK_MESSAGE(worst_err <= tol, what << " element " << worst << ": got " << got[worst] << ", want " << want[worst]
                                       << " (tolerance " << tol << ")");
}

}  // namespace optim_test
