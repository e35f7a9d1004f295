// Reductions against naive reference loops: every subset of axes of a 3-D
// input, keepdim on and off, contiguous and non-contiguous, f32 and f64; the
// integer and empty cases; argmax/argmin; and errors. Also sum_squares, the
// fused squared norm of a list, against the composite it must equal bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "tensor/functors.h"
#include "tensor/optim_kernels.h"
#include "tests/tensor/reference.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using ref::Index;
using ref::Layout;

namespace {

// Every reduced slice of x for output index `out` (in keepdim coordinates).
std::vector<double> slice_values(const Tensor& x, const std::vector<bool>& reduced, const Index& out) {
  std::vector<double> v;
  for (const Index& i : ref::all_indices(x.shape())) {
    bool match = true;
    for (size_t d = 0; d < i.size() && match; ++d) match = reduced[d] || i[d] == out[d];
    if (match) v.push_back(ref::read(x, i));
  }
  return v;
}

Shape keep_shape(const Shape& s, const std::vector<bool>& reduced) {
  Shape k = s;
  for (int d = 0; d < s.size(); ++d)
    if (reduced[size_t(d)]) k[d] = 1;
  return k;
}

Shape drop_shape(const Shape& s, const std::vector<bool>& reduced) {
  Shape k;
  for (int d = 0; d < s.size(); ++d)
    if (!reduced[size_t(d)]) k.push_back(s[d]);
  return k;
}

// Maps an index of the output (keepdim or not) to keepdim coordinates.
Index to_keep(const Index& i, const std::vector<bool>& reduced, bool keepdim) {
  if (keepdim) return i;
  Index k;
  size_t at = 0;
  for (bool r : reduced) k.push_back(r ? 0 : i[at++]);
  return k;
}

using RefFn = std::function<double(const std::vector<double>&)>;

double ref_sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
double ref_mean(const std::vector<double>& v) { return ref_sum(v) / double(v.size()); }
double ref_max(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }
double ref_min(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }
double ref_var(const std::vector<double>& v) {
  const double m = ref_mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return s / double(v.size() - 1);
}
double ref_lse(const std::vector<double>& v) {
  const double m = ref_max(v);
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}
double ref_norm2(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}
double ref_norm1(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::fabs(x);
  return s;
}
double ref_norm3(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::pow(std::fabs(x), 3);
  return std::cbrt(s);
}
double ref_norminf(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s = std::max(s, std::fabs(x));
  return s;
}

struct ReduceCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Axes&, bool)> op;
  RefFn want;
};

}  // namespace

TEST_CASE("reductions over every subset of axes match the reference") {
  const std::vector<ReduceCase> cases = {
      {"sum", [](const Tensor& x, const Axes& a, bool k) { return sum(x, a, k); }, ref_sum},
      {"mean", [](const Tensor& x, const Axes& a, bool k) { return mean(x, a, k); }, ref_mean},
      {"max", [](const Tensor& x, const Axes& a, bool k) { return max(x, a, k); }, ref_max},
      {"min", [](const Tensor& x, const Axes& a, bool k) { return min(x, a, k); }, ref_min},
      {"var", [](const Tensor& x, const Axes& a, bool k) { return var(x, a, k); }, ref_var},
      {"logsumexp", [](const Tensor& x, const Axes& a, bool k) { return logsumexp(x, a, k); }, ref_lse},
      {"norm2", [](const Tensor& x, const Axes& a, bool k) { return norm(x, 2, a, k); }, ref_norm2},
      {"norm1", [](const Tensor& x, const Axes& a, bool k) { return norm(x, 1, a, k); }, ref_norm1},
      {"norm3", [](const Tensor& x, const Axes& a, bool k) { return norm(x, 3, a, k); }, ref_norm3},
      {"norminf", [](const Tensor& x, const Axes& a, bool k) { return norm(x, INFINITY, a, k); }, ref_norminf},
  };
  const Shape shape{3, 4, 5};
  uint64_t seed = 1;
  for (const ReduceCase& c : cases)
    for (DType dt : {DType::f32, DType::f64})
      for (Layout layout : {Layout::contiguous, Layout::transposed, Layout::strided})
        for (int mask = 0; mask < 8; ++mask)
          for (bool keepdim : {false, true}) {
            std::vector<bool> reduced(3);
            Axes axes;
            for (int d = 0; d < 3; ++d)
              if (mask >> d & 1) reduced[size_t(d)] = true, axes.push_back(d - (d == 2 ? 3 : 0));  // -1 for axis 2
            if (mask == 0) reduced = {true, true, true};                                           // empty axes: all
            const Tensor x = ref::make_input(shape, dt, layout, seed++);
            const Tensor y = c.op(x, axes, keepdim);
            const Shape want_shape = keepdim ? keep_shape(shape, reduced) : drop_shape(shape, reduced);
            const double tol = dt == DType::f32 ? 2e-6 : 1e-12;
            ref::check_close(
                y, want_shape,
                [&](const Index& i) { return c.want(slice_values(x, reduced, to_keep(i, reduced, keepdim))); }, tol,
                tol,
                fmt::format("{} {} {} mask {} keepdim {}", c.name, dtype_name(dt), ref::layout_name(layout), mask,
                            keepdim));
          }
}

TEST_CASE("sum of long rows and columns keeps f32 accuracy and is thread-count independent") {
  // 3M elements: above the parallel grain, and long enough that a naive f32
  // running sum would drift.
  const Tensor x = ref::make_input({3000, 1000}, DType::f32, Layout::contiguous, 11, 0, 1);
  const std::vector<float> v = x.to_vector<float>();
  double total = 0;
  for (float f : v) total += f;
  CHECK(std::fabs(sum(x).item() - total) <= 1e-6 * total);
  const Tensor cols = sum(x, {0});
  double c7 = 0;
  for (int i = 0; i < 3000; ++i) c7 += v[size_t(i * 1000 + 7)];
  CHECK(std::fabs(cols.to_vector<double>()[7] - c7) <= 1e-6 * c7);
  const int threads = num_threads();
  const double a = sum(x).item(), b = mean(x, {1}).to_vector<double>()[123];
  set_num_threads(1);
  const double a1 = sum(x).item(), b1 = mean(x, {1}).to_vector<double>()[123];
  set_num_threads(threads);
  CHECK(std::fabs(a - a1) <= 1e-6 * a);
  CHECK(b == b1);  // per-row work never splits a row across threads
}

TEST_CASE("integer and mask reductions") {
  const Tensor i = tensor({1, 2, 3, 4, 5, 6}, {2, 3}).to(DType::i32);
  const Tensor s = sum(i, {1});
  CHECK(s.dtype() == DType::i64);
  CHECK(s.to_vector<int64_t>() == std::vector<int64_t>{6, 15});
  CHECK(max(i).item<int64_t>() == 6);
  CHECK(min(i, {0}).to_vector<int32_t>() == std::vector<int32_t>{1, 2, 3});
  CHECK(sum(gt(i, 2.0)).item<int64_t>() == 4);  // counting a mask
  CHECK_THROWS_WITH_AS(mean(i), "mean: expected a floating dtype (f32 or f64), got i32", Error);
}

TEST_CASE("empty and degenerate reductions") {
  const Tensor e = zeros({0, 3});
  CHECK(sum(e, {0}).to_vector<float>() == std::vector<float>{0, 0, 0});
  CHECK(sum(e).item() == 0);
  CHECK(norm(e).item() == 0);
  CHECK(logsumexp(e, {0}).to_vector<float>()[0] == -INFINITY);
  CHECK(sum(e, {1}).shape() == Shape{0});
  CHECK_THROWS_WITH_AS(max(e, {0}), "max: cannot reduce over an empty axis (tensor of shape [0, 3])", Error);
  CHECK_THROWS_WITH_AS(mean(e), "mean: cannot reduce over an empty axis (tensor of shape [0, 3])", Error);
  CHECK(sum(scalar(2.5)).item() == 2.5);
  CHECK(sum(ones({4, 1, 3}), {1}).shape() == Shape{4, 3});  // size-1 axis: a copy
  CHECK(std::isnan(var(tensor({1.0}), {}).item()));         // one value, correction 1: 0/0
  CHECK(var(tensor({1, 2, 3, 4}), {}, false, 0).item() == doctest::Approx(1.25));
  CHECK(logsumexp(tensor({-INFINITY, -INFINITY})).item() == -INFINITY);
  CHECK(logsumexp(tensor({1000, 1000})).item() == doctest::Approx(1000 + std::log(2.0)));
  CHECK(std::isnan(max(tensor({1, NAN, 3})).item()));
  CHECK_THROWS_WITH_AS(sum(zeros({2, 3}), {0, -2}), "sum: axis -2 given twice", Error);
  CHECK_THROWS_WITH_AS(sum(zeros({2, 3}), {2}), "sum: axis 2 is out of range for a tensor with 2 dimensions", Error);
  CHECK_THROWS_WITH_AS(norm(zeros({2}), 0), "norm: p must be positive, got 0", Error);
}

TEST_CASE("argmax and argmin along an axis and over the whole tensor") {
  uint64_t seed = 40;
  for (DType dt : {DType::f32, DType::f64, DType::i64})
    for (int axis = 0; axis < 3; ++axis) {
      const Tensor x = ref::make_input({3, 4, 5}, dt, Layout::strided, seed++, -50, 50);
      const Tensor am = argmax(x, axis);
      const Tensor an = argmin(x, axis, true);
      CHECK(am.dtype() == DType::i64);
      Shape drop, keep{3, 4, 5};
      for (int d = 0; d < 3; ++d)
        if (d != axis) drop.push_back(keep[d]);
      keep[axis] = 1;
      auto best = [&](Index out, bool want_max) {
        out.insert(out.begin() + axis, 0);
        int64_t arg = 0;
        double v = ref::read(x, out);
        for (int64_t r = 1; r < x.shape()[axis]; ++r) {
          out[size_t(axis)] = r;
          const double w = ref::read(x, out);
          if (want_max ? w > v : w < v) v = w, arg = r;
        }
        return double(arg);
      };
      ref::check_close(
          am, drop, [&](const Index& i) { return best(i, true); }, 0, 0, "argmax");
      ref::check_close(
          an, keep,
          [&](Index i) {
            i.erase(i.begin() + axis);
            return best(i, false);
          },
          0, 0, "argmin");
    }
  CHECK(argmax(tensor({3, 9, 1, 9}), {}).item<int64_t>() == 1);  // ties: first index
  CHECK(argmin(tensor({4, 2, 8, 0, 5, 6}, {2, 3})).item<int64_t>() == 3);
  CHECK(argmax(tensor({1, NAN, 5})).item<int64_t>() == 1);  // NaN wins, as in max
  CHECK(argmax(tensor({1, 2, 3, 4}, {2, 2}), std::nullopt, true).shape() == Shape{1, 1});
  CHECK_THROWS_WITH_AS(argmax(zeros({2, 0}), 1), "argmax: axis 1 of shape [2, 0] is empty", Error);
}

TEST_CASE("sum_squares: the composite sum(square(x.to(f64))) bit for bit, on 1 and 2 threads") {
  // Sizes around the 16-lane loop, its tail, and the grain above which two
  // threads split the sum (32768), in f32 (fused) and f64 (passes).
  Generator gen(11);
  for (int threads : {1, 2}) {
    const test::ThreadCountGuard pin(threads);
    for (DType dtype : {DType::f32, DType::f64}) {
      for (int64_t n : {0, 1, 15, 16, 17, 1000, 32768, 32769, 100003}) {
        CAPTURE(threads);
        CAPTURE(n);
        const Tensor a = mul(randn({n}, gen, dtype), 3.0), b = randn({7, 9}, gen, dtype);
        const double composite = 0.0 + sum(square(a.to(DType::f64))).item() + sum(square(b.to(DType::f64))).item();
        const Tensor fused = sum_squares(std::vector<Tensor>{a, b});
        CHECK(fused.dtype() == DType::f64);
        CHECK(fused.dim() == 0);
        CHECK(fused.item() == composite);
      }
    }
  }
  // Views are summed as their values; the list may mix dtypes; an empty list is 0.
  const Tensor m = randn({6, 5}, gen);
  CHECK(sum_squares(std::vector<Tensor>{m.mT(), m.to(DType::f64)}).item() ==
        0.0 + sum(square(m.mT().to(DType::f64))).item() + sum(square(m.to(DType::f64))).item());
  CHECK(sum_squares(std::vector<Tensor>{}).item() == 0.0);
  CHECK_THROWS_WITH_AS(sum_squares(std::vector<Tensor>{m, zeros({2}, DType::i64)}),
                       "sum_squares: xs[1] must be f32 or f64, got i64", Error);
  CHECK_THROWS_WITH_AS(sum_squares(std::vector<Tensor>{m, m.to(Device::ref)}),
                       "sum_squares: xs[1] is on ref but xs[0] is on cpu", Error);
}

namespace {

// The order every row reduction keeps, whatever its length: element i goes to
// lane i % 16 while a whole group of 16 remains, the rest to lane 0 in turn,
// and the 16 lanes are folded by halving (8, 4, 2, 1).
template <class Acc, class Combine>
Acc lanes_then_tree(const std::vector<Acc>& v, Acc init, Combine combine) {
  Acc acc[16];
  for (Acc& a : acc) a = init;
  size_t i = 0;
  for (; i + 16 <= v.size(); i += 16)
    for (size_t j = 0; j < 16; ++j) acc[j] = combine(acc[j], v[i + j]);
  for (; i < v.size(); ++i) acc[0] = combine(acc[0], v[i]);
  for (int w = 8; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] = combine(acc[j], acc[j + w]);
  return acc[0];
}

// Equal bits (so +0 and -0 differ), or both NaN (whose payload is not meant).
template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b);
}

}  // namespace

TEST_CASE("rows of every length, short ones too, sum, max and min in the lanes' order, bit for bit") {
  // Rows 2..40 long (below, at and past one group of 16 lanes; a row of one
  // is a copy), with signed zeros, infinities and NaN in some rows: the sign
  // of a zero and which NaN comes out depend on the order.
  Generator gen(5);
  for (int64_t n = 2; n <= 40; ++n) {
    CAPTURE(n);
    const int64_t rows = 6;
    std::vector<float> v = mul(randn({rows, n}, gen), 100.0).to_vector<float>();
    for (int64_t j = 0; j < n; ++j) v[size_t(n + j)] = j % 2 ? 0.f : -0.f;  // row 1: signed zeros
    for (int64_t j = 0; j < n; ++j) v[size_t(2 * n + j)] = -0.f;          // row 2: all -0
    v[size_t(3 * n + n / 2)] = INFINITY;                                  // row 3: an inf
    v[size_t(4 * n + n - 1)] = NAN;                                       // row 4: a NaN, last
    v[size_t(5 * n)] = -INFINITY;                                         // row 5: -inf first
    const Tensor x = from_vector(v, {rows, n});
    const std::vector<float> s = sum(x, {-1}).to_vector<float>();
    const std::vector<float> hi = max(x, {-1}).to_vector<float>();
    const std::vector<float> lo = min(x, {-1}).to_vector<float>();
    const std::vector<double> s64 = sum(x.to(DType::f64), {-1}).to_vector<double>();
    std::vector<double> whole(v.size());
    for (size_t k = 0; k < v.size(); ++k) whole[k] = std::isfinite(v[k]) ? std::round(v[k]) : 7.0;
    const std::vector<int64_t> si = sum(from_vector(whole, {rows, n}).to(DType::i64), {-1}).to_vector<int64_t>();
    const std::vector<int64_t> vi(whole.begin(), whole.end());
    for (int64_t r = 0; r < rows; ++r) {
      CAPTURE(r);
      std::vector<double> row(v.begin() + r * n, v.begin() + (r + 1) * n);
      std::vector<float> rowf(v.begin() + r * n, v.begin() + (r + 1) * n);
      const double want_sum = lanes_then_tree<double>(row, 0.0, [](double a, double b) { return a + b; });
      CHECK(same_bits(s[size_t(r)], float(want_sum)));
      CHECK(same_bits(s64[size_t(r)], want_sum));
      CHECK(same_bits(hi[size_t(r)], lanes_then_tree<float>(rowf, -INFINITY, fn::Maximum{})));
      CHECK(same_bits(lo[size_t(r)], lanes_then_tree<float>(rowf, INFINITY, fn::Minimum{})));
      std::vector<int64_t> rowi(vi.begin() + r * n, vi.begin() + (r + 1) * n);
      CHECK(si[size_t(r)] == lanes_then_tree<int64_t>(rowi, 0, [](int64_t a, int64_t b) { return a + b; }));
    }
  }
}
