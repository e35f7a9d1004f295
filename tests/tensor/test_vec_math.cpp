// The vectorisable f32 functions of tensor/vec_math.h against the f64 library
// functions on a dense sweep of their domains: the largest error, in units of
// f32 rounding (ulp of the true value), stays within a few ulp. The bounds hold
// whether or not the compiler fuses multiply-adds (-O3 does on FMA machines;
// the -O1 sanitizer build and portable x86-64 builds do not), and are those
// stated in vec_math.h.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>

#include "tensor/vec_math.h"

using namespace gradlab;

namespace {

// Largest error in ulp of f(x) against want(x) over n points evenly spread in [lo, hi].
double max_ulp_error(const std::function<float(float)>& f, const std::function<double(double)>& want, double lo,
                     double hi, int n = 400000) {
  double worst = 0;
  for (int i = 0; i <= n; ++i) {
    const float x = float(lo + (hi - lo) * i / n);
    const double w = want(double(x));
    if (!std::isfinite(w) || std::fabs(w) < 1e-37) continue;  // checked by the special-value cases
    const double ulp = std::ldexp(1.0, std::ilogb(float(w)) - 23);
    worst = std::max(worst, std::fabs(double(f(x)) - w) / ulp);
  }
  return worst;
}

}  // namespace

TEST_CASE("vm::exp is within 1.5 ulp") {
  CHECK(max_ulp_error(
            vm::exp, [](double x) { return std::exp(x); }, -87, 88.7) <= 1.5);
  CHECK(max_ulp_error(
            vm::exp, [](double x) { return std::exp(x); }, -1, 1) <= 1.5);
  CHECK(vm::exp(-1e4f) == 0.f);
  CHECK(vm::exp(89.f) == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(vm::exp(NAN)));
  // denormal results are kept, not flushed
  CHECK(vm::exp(-100.f) > 0.f);
  CHECK(std::fabs(vm::exp(-100.f) - std::exp(-100.0)) < 1e-45);
}

TEST_CASE("vm::exp_nonneg gives exp's bits on [0, 88], which tanh relies on") {
  // Every 61st f32 in [0, 20] (tanh's 2|x|; bench/results/tanh_exp checks all
  // 2^32 inputs of tanh) and a sweep up to 88: the same value as vm::exp.
  int64_t differ = 0, checked = 0;
  for (int32_t bits = 0; bits <= vm::to_bits(20.f); bits += 61, ++checked)
    differ += vm::to_bits(vm::exp_nonneg(vm::from_bits(bits))) != vm::to_bits(vm::exp(vm::from_bits(bits)));
  for (int i = 0; i <= 200000; ++i, ++checked) {
    const float x = 88.f * float(i) / 200000.f;
    differ += vm::to_bits(vm::exp_nonneg(x)) != vm::to_bits(vm::exp(x));
  }
  CHECK(checked > 10000000);
  CHECK(differ == 0);
  CHECK(std::isnan(vm::exp_nonneg(NAN)));
}

TEST_CASE("vm::expm1 is within 2.5 ulp, including near 0") {
  CHECK(max_ulp_error(
            vm::expm1, [](double x) { return std::expm1(x); }, -10, 10) <= 2.5);
  CHECK(max_ulp_error(
            vm::expm1, [](double x) { return std::expm1(x); }, -1e-3, 1e-3) <= 2.5);
}

TEST_CASE("vm::log is within 1.5 ulp, denormals included") {
  CHECK(max_ulp_error(
            vm::log, [](double x) { return std::log(x); }, 1e-3, 1e3) <= 1.5);
  CHECK(max_ulp_error(
            vm::log, [](double x) { return std::log(x); }, 0.5, 2.0) <= 1.5);
  CHECK(std::fabs(vm::log(1e-40f) - std::log(double(1e-40f))) < 1e-5);
  CHECK(vm::log(0.f) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(vm::log(-1.f)));
}

TEST_CASE("vm::log1p is within 2 ulp near 0 and away from it") {
  CHECK(max_ulp_error(
            vm::log1p, [](double x) { return std::log1p(x); }, -0.999, 100) <= 2.0);
  CHECK(max_ulp_error(
            vm::log1p, [](double x) { return std::log1p(x); }, -1e-4, 1e-4) <= 2.0);
  CHECK(max_ulp_error(
            vm::log1p, [](double x) { return std::log1p(x); }, -1e-7, 1e-7) <= 2.0);
}

TEST_CASE("vm::tanh is within 3 ulp") {
  CHECK(max_ulp_error(
            vm::tanh, [](double x) { return std::tanh(x); }, -12, 12) <= 3.0);
  CHECK(max_ulp_error(
            vm::tanh, [](double x) { return std::tanh(x); }, -1e-3, 1e-3) <= 3.0);
}

TEST_CASE("vm::erfc_nonneg has relative error below 4e-7 + z^2 * 1.2e-7") {
  double worst = 0;  // error divided by its allowance
  for (int i = 0; i <= 100000; ++i) {
    const float z = float(9.0 * i / 100000);
    const double w = std::erfc(double(z));
    const double allowed = 4e-7 + double(z) * double(z) * 1.2e-7;
    worst = std::max(worst, std::fabs(vm::erfc_nonneg(z) - w) / w / allowed);
  }
  CHECK(worst <= 1.0);
}
