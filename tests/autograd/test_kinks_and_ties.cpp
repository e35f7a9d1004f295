// Gradients where an op is not differentiable, checked against the convention
// each one documents (autograd/ops.h, tensor/ops.h and the comments next to
// the backward): abs, relu and sign at 0, clamp at its bounds, ties in
// maximum/minimum, in max/min reductions and in norm(p = inf), the zero norm,
// nuclear_norm at a zero singular value, and sort and topk ties. f32 and f64.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"

using namespace gradlab;

namespace {

std::vector<double> vals(const Tensor& t) { return t.to_vector<double>(); }

// A leaf of the given values (exact in f32 and f64 alike).
Var leaf(std::initializer_list<double> v, DType dt, const Shape& shape = {}) { return Var::leaf(tensor(v, shape, dt)); }

// d <v, f(x)> / dx for one leaf x: backward with cotangent v.
std::vector<double> grad_of(const Var& x, const Var& y, std::initializer_list<double> v) {
  y.backward(tensor(v, {}, y.dtype()).reshape(y.shape()));
  REQUIRE(x.grad().defined());
  return vals(x.grad());
}

}  // namespace

TEST_CASE("abs, relu and sign have gradient 0 at 0 (and at -0)") {
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    // Distinct cotangents per element, so a gradient landing on the wrong element shows.
    const auto x_values = {-1.5, 0.0, -0.0, 2.0};
    const auto v = {3.0, 5.0, 7.0, 11.0};
    const Var xa = leaf(x_values, dt);
    CHECK(grad_of(xa, abs(xa), v) == std::vector<double>{-3, 0, 0, 11});  // sign(x), 0 at 0
    const Var xr = leaf(x_values, dt);
    CHECK(grad_of(xr, relu(xr), v) == std::vector<double>{0, 0, 0, 11});  // 0 at 0
    const Var xs = leaf(x_values, dt);
    CHECK(grad_of(xs, sign(xs), v) == std::vector<double>{0, 0, 0, 0});  // 0 everywhere
  }
}

TEST_CASE("clamp passes the gradient at exactly its bounds") {
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    // [lo, hi] = [-0.5, 0.25], bounds included: the elements at -0.5 and 0.25 pass.
    const Var x = leaf({-0.75, -0.5, 0.0, 0.25, 0.5}, dt);
    CHECK(grad_of(x, clamp(x, -0.5, 0.25), {1, 2, 3, 4, 5}) == std::vector<double>{0, 2, 3, 4, 0});
    // A degenerate interval [0.25, 0.25] still includes its one point.
    const Var p = leaf({0.0, 0.25, 0.5}, dt);
    CHECK(grad_of(p, clamp(p, 0.25, 0.25), {1, 2, 3}) == std::vector<double>{0, 2, 0});
    // 0.1 is not exact in f32: a value clamp has already set to its bound is
    // still at the bound, so clamping it again passes the gradient.
    const Var at_bound = Var::leaf(clamp(tensor({5.0, -5.0}, {}, dt), -0.1, 0.1));
    CHECK(grad_of(at_bound, clamp(at_bound, -0.1, 0.1), {1, 2}) == std::vector<double>{1, 2});
  }
}

TEST_CASE("maximum and minimum send half the gradient to each side of a tie") {
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    const auto av = {1.0, 2.0, 3.0}, bv = {1.0, 5.0, 0.0};
    const auto v = {2.0, 4.0, 8.0};
    {
      const Var a = leaf(av, dt), b = leaf(bv, dt);
      maximum(a, b).backward(tensor(v, {}, dt));
      CHECK(vals(a.grad()) == std::vector<double>{1, 0, 8});  // tie, loses, wins
      CHECK(vals(b.grad()) == std::vector<double>{1, 4, 0});
    }
    {
      const Var a = leaf(av, dt), b = leaf(bv, dt);
      minimum(a, b).backward(tensor(v, {}, dt));
      CHECK(vals(a.grad()) == std::vector<double>{1, 4, 0});
      CHECK(vals(b.grad()) == std::vector<double>{1, 0, 8});
    }
    {
      // Broadcast b [3] against a [2, 3]: b's gradient sums its halves and wins over the rows.
      const Var a = leaf({1, 2, 3, 4, 2, 0}, dt, {2, 3}), b = leaf({1, 2, 3}, dt);
      maximum(a, b).backward(tensor({1, 2, 4, 8, 16, 32}, {2, 3}, dt));
      CHECK(vals(a.grad()) == std::vector<double>{0.5, 1, 2, 8, 8, 0});
      CHECK(vals(b.grad()) == std::vector<double>{0.5, 1 + 8, 2 + 32});
    }
    {
      // The same Var on both sides ties everywhere: the halves add back to the identity.
      const Var x = leaf({-1, 0, 2}, dt);
      CHECK(grad_of(x, maximum(x, x), {3, 5, 7}) == std::vector<double>{3, 5, 7});
      const Var y = leaf({-1, 0, 2}, dt);
      CHECK(grad_of(y, minimum(y, y), {3, 5, 7}) == std::vector<double>{3, 5, 7});
    }
  }
}

TEST_CASE("max and min reductions share the gradient equally among tied elements") {
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    // Rows: a two-way tie, a three-way tie, a single maximum.
    const auto xv = {1.0, 3.0, 3.0, 2.0, 2.0, 2.0, 0.0, 5.0, 2.0};
    {
      const Var x = leaf(xv, dt, {3, 3});
      CHECK(grad_of(x, max(x, {1}), {2, 3, 4}) == std::vector<double>{0, 1, 1, 1, 1, 1, 0, 4, 0});
    }
    {
      const Var x = leaf(xv, dt, {3, 3});
      // Column minima: 0 once, 2 once, 2 twice (rows 1 and 2).
      CHECK(grad_of(x, min(x, {0}, true), {2, 3, 4}) == std::vector<double>{0, 0, 0, 0, 3, 2, 2, 0, 2});
    }
    {
      // Over every axis, a three-way tie: a third each.
      const Var x = leaf({3, -1, 3, 3}, dt, {2, 2});
      CHECK(grad_of(x, max(x), {6}) == std::vector<double>{2, 0, 2, 2});
    }
    {
      const Var x = leaf({-4, 7, -4, -4}, dt, {2, 2});
      const std::vector<double> g = grad_of(x, min(x, {}, true), {8});
      CHECK(g[1] == 0.0);
      for (size_t i : {0, 2, 3}) CHECK(g[i] == doctest::Approx(8.0 / 3).epsilon(1e-6));  // 8/3 rounds in f32
    }
  }
}

TEST_CASE("norm: p = inf splits ties like max |x|, with the sign; the zero vector gets a zero gradient") {
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    // |2| and |-2| tie for the largest magnitude: half each, signed.
    const Var x = leaf({2, -2, 1, 0.5, -3, 3}, dt, {2, 3});
    CHECK(grad_of(x, norm(x, INFINITY, {1}), {4, 10}) == std::vector<double>{2, -2, 0, 0, -5, 5});
    // "zero where the norm is zero" (autograd/reduce.cpp): not NaN from 0/0.
    for (double p : {2.0, 3.0}) {
      CAPTURE(p);
      const Var z = leaf({0, 0, 0, 1, 2, 2}, dt, {2, 3});
      const std::vector<double> g = grad_of(z, norm(z, p, {1}), {5, 6});
      CHECK(g[0] == 0.0);
      CHECK(g[1] == 0.0);
      CHECK(g[2] == 0.0);
      CHECK(std::isfinite(g[3]));
    }
  }
}

TEST_CASE("sort and topk send each tied value's gradient to the lower index first") {
  // tensor/ops.h: sort is stable; topk's ties keep the lower index first. The
  // gradient of each output goes back to the index it came from.
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    {
      const Var x = leaf({3, 1, 3, 1}, dt);
      const VarIndices s = sort(x);  // ascending: 1 (index 1), 1 (3), 3 (0), 3 (2)
      CHECK(s.indices.to_vector<int64_t>() == std::vector<int64_t>{1, 3, 0, 2});
      CHECK(grad_of(x, s.values, {10, 20, 30, 40}) == std::vector<double>{30, 10, 40, 20});
    }
    {
      const Var x = leaf({3, 1, 3, 1}, dt);
      const VarIndices s = sort(x, -1, true);  // descending: 3 (0), 3 (2), 1 (1), 1 (3)
      CHECK(s.indices.to_vector<int64_t>() == std::vector<int64_t>{0, 2, 1, 3});
      CHECK(grad_of(x, s.values, {10, 20, 30, 40}) == std::vector<double>{10, 30, 20, 40});
    }
    {
      const Var x = leaf({5, 2, 5, 5}, dt);
      const VarIndices t = topk(x, 2);  // the two largest of three tied 5s: indices 0 and 2
      CHECK(t.indices.to_vector<int64_t>() == std::vector<int64_t>{0, 2});
      CHECK(grad_of(x, t.values, {10, 20}) == std::vector<double>{10, 0, 20, 0});
    }
    {
      const Var x = leaf({4, 0, 9, 0}, dt);
      const VarIndices t = topk(x, 1, -1, false);  // the smallest: 0 at index 1, not 3
      CHECK(t.indices.to_vector<int64_t>() == std::vector<int64_t>{1});
      CHECK(grad_of(x, t.values, {7}) == std::vector<double>{0, 7, 0, 0});
    }
  }
}

TEST_CASE("nuclear_norm at a zero singular value: the least-norm subgradient, U Vh over the positive ones") {
  // autograd/linalg.cpp: the columns of U whose singular value is zero are
  // dropped, so a rank-1 matrix a b^T gets exactly (a / |a|)(b / |b|)^T, not
  // that plus whatever direction the SVD completed U and Vh with.
  for (DType dt : {DType::f32, DType::f64}) {
    CAPTURE(dtype_name(dt));
    const Var x = leaf({3, 6, 6, 4, 8, 8}, dt, {2, 3});  // [3, 4]^T [1, 2, 2]
    const Var n = nuclear_norm(x);
    CHECK(n.item() == doctest::Approx(15.0).epsilon(1e-6));  // |a| |b| = 5 * 3
    n.backward();
    const std::vector<double> g = vals(x.grad());
    const std::vector<double> want = {0.6 / 3, 1.2 / 3, 1.2 / 3, 0.8 / 3, 1.6 / 3, 1.6 / 3};
    for (size_t i = 0; i < want.size(); ++i) CHECK(g[i] == doctest::Approx(want[i]).epsilon(1e-6));
    // Every singular value zero: the zero subgradient.
    const Var z = Var::leaf(zeros({2, 3}, dt));
    nuclear_norm(z).backward();
    CHECK(vals(z.grad()) == std::vector<double>(6, 0.0));
  }
}
