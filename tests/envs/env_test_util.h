// Helpers shared by the tests/envs suites: element-wise comparison of double
// vectors and a plain discrete action.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace gradlab::envs::testing {

inline void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(std::fabs(got[i] - want[i]) <= tol, "element ", i, ": ", got[i], " vs ", want[i]);
}

inline std::vector<double> act(int a) { return {double(a)}; }

}  // namespace gradlab::envs::testing
