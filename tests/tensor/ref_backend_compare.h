// Shared by the reference backend's tests (test_ref_backend*.cpp): one input
// on both the CPU and the reference backend, in the layouts the tests sweep
// (contiguous, transposed, strided, expanded), and the comparison of the two
// results within a tolerance that each dtype and case states.
#pragma once

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "tensor/ops.h"
#include "tensor/random.h"

namespace gradlab::test {

// ---- one input on both backends ----

// The same values on the CPU and on the reference backend, laid out alike.
struct Both {
  Tensor cpu, ref;
};

inline Both both(const Tensor& t) { return {t, t.to(Device::ref)}; }

// f applied on each side: a view, or the op under test.
template <class F>
auto map(const Both& x, F f) {
  return std::pair{f(x.cpu), f(x.ref)};
}
template <class F>
Both view(const Both& x, F f) {
  return {f(x.cpu), f(x.ref)};
}

enum class Layout { contiguous, transposed, strided, expanded };
inline constexpr Layout kLayouts[] = {Layout::contiguous, Layout::transposed, Layout::strided, Layout::expanded};
inline const char* layout_name(Layout l) {
  switch (l) {
    case Layout::contiguous: return "contiguous";
    case Layout::transposed: return "transposed";
    case Layout::strided: return "strided";
    case Layout::expanded: return "expanded";
  }
  return "?";
}

inline constexpr DType kAllDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64, DType::b8};
inline constexpr DType kFloatDTypes[] = {DType::f32, DType::f64};
inline constexpr DType kNumericDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64};

// Values of shape s: uniform in [lo, hi) for floats, integers in [lo, hi), b8 about half true.
inline Tensor values(const Shape& s, DType dt, Generator& gen, double lo, double hi) {
  if (is_floating(dt)) return uniform(s, lo, hi, gen, dt);
  if (dt == DType::b8) return lt(uniform(s, 0, 1, gen, DType::f64), 0.5);
  return randint(int64_t(lo), int64_t(hi), s, gen, dt);
}

// An input of `shape` on both backends: transposed is the reversed-axes view
// of a contiguous tensor, strided every second element of the last axis,
// expanded the first axis broadcast from size 1 (stride 0).
inline Both input(const Shape& shape, DType dt, Layout layout, uint64_t seed, double lo = -2, double hi = 2) {
  Generator gen(seed);
  const int nd = shape.size();
  if (nd == 0 || layout == Layout::contiguous) return both(values(shape, dt, gen, lo, hi));
  if (layout == Layout::transposed) {
    Shape rev, perm;
    for (int d = nd - 1; d >= 0; --d) rev.push_back(shape[d]), perm.push_back(d);
    return view(both(values(rev, dt, gen, lo, hi)), [&](const Tensor& t) { return t.permute(perm); });
  }
  if (layout == Layout::strided) {
    Shape wide = shape;
    wide[nd - 1] *= 2;
    return view(both(values(wide, dt, gen, lo, hi)), [&](const Tensor& t) { return t.slice(-1, 0, wide[nd - 1], 2); });
  }
  Shape one = shape;
  one[0] = 1;
  return view(both(values(one, dt, gen, lo, hi)), [&](const Tensor& t) { return t.expand(shape); });
}

// ---- comparing the two results ----

struct Tol {
  double rtol = 0, atol = 0;
};
inline constexpr Tol kExact{0, 0};
// f64: both backends evaluate the same double formulas (the CPU's f64 kernels
// call <cmath> as the reference does); they differ only in the order of sums.
inline constexpr Tol kF64{1e-12, 1e-12};
// f32 elementwise: the CPU's f32 exp, log, tanh, erfc are vectorised
// approximations within 1.5 to 3 ulp (tensor/vec_math.h), and composite
// formulas (gelu, silu, softplus, the gradients) round every intermediate to
// f32, each rounding up to 0.5 ulp of that intermediate, which can be larger
// than the result (1 - y^2 near |y| = 1). The reference rounds once, so the
// two differ by up to about 8 ulp of the result (1e-6 relative) plus a few ulp
// of intermediates of size up to ~10 (2e-6 absolute).
inline constexpr Tol kF32Elementwise{1e-6, 2e-6};

// The tolerance for dtype dt: exact for integers and b8, kF64 for f64, `f32` for f32.
inline Tol tol_for(DType dt, Tol f32) { return dt == DType::f32 ? f32 : dt == DType::f64 ? kF64 : kExact; }

// cpu and ref results of one op agree: same shape and dtype, the reference's on
// Device::ref, every value within atol + rtol |cpu value| (NaN matching NaN,
// infinities equal); the first few mismatches are printed.
inline void check_same(const Tensor& cpu, const Tensor& ref, Tol tol, const std::string& what) {
  INFO(what);
  REQUIRE(cpu.defined());
  REQUIRE(ref.defined());
  CHECK(cpu.device() == Device::cpu);
  CHECK(ref.device() == Device::ref);
  REQUIRE(cpu.shape() == ref.shape());
  REQUIRE(cpu.dtype() == ref.dtype());
  const std::vector<double> a = cpu.to_vector<double>(), b = ref.to_vector<double>();
  int bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool ok = (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i] ||
                    std::fabs(a[i] - b[i]) <= tol.atol + tol.rtol * std::fabs(a[i]);
    if (!ok && ++bad <= 5) FAIL_CHECK(fmt::format("element {}: cpu {:.17g}, ref {:.17g}", i, a[i], b[i]));
  }
  CHECK(bad == 0);
}
inline void check_same(const std::pair<Tensor, Tensor>& r, Tol tol, const std::string& what) {
  check_same(r.first, r.second, tol, what);
}

}  // namespace gradlab::test
