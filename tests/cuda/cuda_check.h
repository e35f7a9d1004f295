// Helpers of the CUDA parity tests: skip visibly without a GPU, copy a CPU
// tensor to the GPU, and compare a CUDA result with its CPU twin under a
// per-op tolerance, reporting the largest difference and the first mismatching
// indices when they disagree.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor/device.h"
#include "tensor/ops.h"

namespace cuda_test {

inline bool have_gpu() { return gradlab::cuda_built() && gradlab::cuda_available(); }

// The first statement of every test that needs a GPU.
#define REQUIRE_GPU_OR_SKIP()             \
  do {                                    \
    if (!::cuda_test::have_gpu()) {       \
      MESSAGE("skipped: no CUDA device"); \
      return;                             \
    }                                     \
  } while (0)

inline gradlab::Tensor gpu(const gradlab::Tensor& t) { return t.to(gradlab::Device::cuda); }

// Exactly equal values (compared as f64; NaN equals NaN, so that a sort that
// moves NaNs passes when they land in the same places), for copies, sorts and random bits.
inline bool same_values(const gradlab::Tensor& a, const gradlab::Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const std::vector<double> x = a.to(gradlab::Device::cpu).to_vector<double>();
  const std::vector<double> y = b.to(gradlab::Device::cpu).to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i)
    if (!(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i])))) return false;
  return true;
}

// A tolerance: |cpu - cuda| <= atol + rtol |cpu| elementwise.
struct Tol {
  double atol, rtol;
};
// Tolerances by dtype for results of a few roundings (elementwise, gathers)
// and of long sums (reductions, GEMM, attention), where the GPU adds in a
// different order than the CPU.
inline Tol tol_elementwise(gradlab::DType dt) {
  return dt == gradlab::DType::f64 ? Tol{1e-13, 1e-12} : Tol{1e-6, 2e-6};
}
inline Tol tol_sum(gradlab::DType dt) { return dt == gradlab::DType::f64 ? Tol{1e-11, 1e-10} : Tol{2e-5, 1e-4}; }

inline std::string index_string(int64_t flat, const gradlab::Shape& shape) {
  std::vector<int64_t> idx(size_t(shape.size()));
  for (int d = shape.size() - 1; d >= 0; --d) {
    idx[size_t(d)] = shape[d] == 0 ? 0 : flat % shape[d];
    flat = shape[d] == 0 ? 0 : flat / shape[d];
  }
  std::string s = "[";
  for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + "]";
}

// Empty when cuda_result matches cpu_result; otherwise what differs.
inline std::string mismatch(const gradlab::Tensor& cpu_result, const gradlab::Tensor& cuda_result, Tol tol) {
  using namespace gradlab;
  if (!cpu_result.defined() || !cuda_result.defined())
    return cpu_result.defined() == cuda_result.defined() ? "" : "one result is undefined";
  if (!(cpu_result.shape() == cuda_result.shape()))
    return fmt::format("shapes differ: cpu {} cuda {}", cpu_result.shape(), cuda_result.shape());
  if (cpu_result.dtype() != cuda_result.dtype())
    return fmt::format("dtypes differ: cpu {} cuda {}", cpu_result.dtype(), cuda_result.dtype());
  if (!cuda_result.is_cuda()) return "the CUDA result is not on the GPU";
  const std::vector<double> a = cpu_result.to_vector<double>();
  const std::vector<double> b = cuda_result.to(Device::cpu).to_vector<double>();
  int64_t bad = 0, worst = -1;
  double worst_diff = 0;
  std::string first;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    const bool both_nan = std::isnan(x) && std::isnan(y);
    const bool same_inf = std::isinf(x) && x == y;
    const double diff = std::fabs(x - y);
    const bool ok = both_nan || same_inf || diff <= tol.atol + tol.rtol * std::fabs(x);
    if (!ok) {
      if (bad < 5)
        first += fmt::format(" {} cpu {:.9g} cuda {:.9g};", index_string(int64_t(i), cpu_result.shape()), x, y);
      ++bad;
    }
    if (!both_nan && !same_inf && (std::isnan(diff) || diff > worst_diff)) {
      worst_diff = std::isnan(diff) ? INFINITY : diff;
      worst = int64_t(i);
    }
  }
  if (bad == 0) return "";
  return fmt::format("{} of {} elements differ (atol {:g}, rtol {:g}); largest |diff| {:.3g} at {}; first:{}", bad,
                     a.size(), tol.atol, tol.rtol, worst_diff,
                     worst >= 0 ? index_string(worst, cpu_result.shape()) : "?", first);
}

}  // namespace cuda_test

// CHECK that a CUDA result matches its CPU twin; `what` names the op and case.
// The tolerance comes last (a braced Tol{atol, rtol} may hold commas).
#define CHECK_PARITY(what, cpu_result, cuda_result, ...)                                           \
  do {                                                                                             \
    const std::string gl_msg_ = ::cuda_test::mismatch((cpu_result), (cuda_result), (__VA_ARGS__)); \
    CHECK_MESSAGE(gl_msg_.empty(), (what), ": ", gl_msg_);                                         \
  } while (0)
