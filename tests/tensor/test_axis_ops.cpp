// Ops along one axis against reference loops: softmax, log_softmax, cumsum,
// gather, scatter_add, index_select, one_hot, concat, stack, split; every axis,
// strided inputs, f32 and f64; and their errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "tensor/backend.h"
#include "tensor/functors.h"
#include "tensor/random.h"
#include "tests/tensor/reference.h"

using namespace gradlab;
using ref::Index;
using ref::Layout;

namespace {

// Values of x along `axis` at the position of i.
std::vector<double> along(const Tensor& x, Index i, int axis) {
  std::vector<double> v;
  for (int64_t r = 0; r < x.shape()[axis]; ++r) {
    i[size_t(axis)] = r;
    v.push_back(ref::read(x, i));
  }
  return v;
}

}  // namespace

TEST_CASE("softmax and log_softmax along every axis") {
  uint64_t seed = 1;
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& shape : {Shape{7}, Shape{3, 4, 5}, Shape{2, 70, 3}, Shape{3, 1, 130}})
      for (int axis = -shape.size(); axis < shape.size(); ++axis)
        for (Layout layout : {Layout::contiguous, Layout::transposed}) {
          const Tensor x = ref::make_input(shape, dt, layout, seed++, -20, 20);
          const int a = axis < 0 ? axis + shape.size() : axis;
          const double tol = dt == DType::f32 ? 2e-6 : 1e-13;
          auto lse = [&](const Index& i) {
            const std::vector<double> v = along(x, i, a);
            const double m = *std::max_element(v.begin(), v.end());
            double s = 0;
            for (double e : v) s += std::exp(e - m);
            return m + std::log(s);
          };
          ref::check_close(
              softmax(x, axis), shape, [&](const Index& i) { return std::exp(ref::read(x, i) - lse(i)); }, tol,
              tol * 1e-3, fmt::format("softmax {} {} axis {}", dtype_name(dt), shape, axis));
          ref::check_close(
              log_softmax(x, axis), shape, [&](const Index& i) { return ref::read(x, i) - lse(i); }, tol, tol,
              fmt::format("log_softmax {} {} axis {}", dtype_name(dt), shape, axis));
        }
  // Large inputs do not overflow; rows sum to one.
  const Tensor big = tensor({1000, 1001, 1002});
  const auto p = softmax(big).to_vector<double>();
  CHECK(p[0] + p[1] + p[2] == doctest::Approx(1.0));
  CHECK(p[2] == doctest::Approx(0.665240955));
  CHECK(softmax(scalar(3.0)).item() == 1.0);
  CHECK_THROWS_WITH_AS(softmax(zeros({2}, DType::i64)), "softmax: expected a floating dtype (f32 or f64), got i64",
                       Error);
}

namespace {

// The order of a softmax row, whatever its length. The max: two vectors of
// 64 bytes of lanes over blocks of two vectors (a lane takes the new value
// when it is larger or NaN), the second folded into the first the same way,
// then the lanes in order and the tail through fn::Maximum. The sum of the
// exponentials in f64: two vectors of 8 lanes over blocks of 16, added lane
// by lane, then the lanes in order from 0 and the tail.
template <class T>
std::vector<T> softmax_row_model(const std::vector<T>& x, bool log) {
  constexpr size_t L = 64 / sizeof(T);
  const size_t n = x.size();
  auto take = [](T a, T u) { return (u > a || u != u) ? u : a; };
  T a[L], b[L];
  for (size_t j = 0; j < L; ++j) a[j] = b[j] = -INFINITY;
  size_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L)
    for (size_t j = 0; j < L; ++j) a[j] = take(a[j], x[i + j]), b[j] = take(b[j], x[i + L + j]);
  for (size_t j = 0; j < L; ++j) a[j] = take(a[j], b[j]);
  T m = a[0];
  for (size_t j = 1; j < L; ++j) m = fn::Maximum{}(m, a[j]);
  for (; i < n; ++i) m = fn::Maximum{}(m, x[i]);
  if (std::isinf(m)) m = T(0);
  std::vector<T> y(n);
  for (size_t j = 0; j < n; ++j) y[j] = fn::exp(x[j] - m);
  double sa[8] = {}, sb[8] = {};
  i = 0;
  for (; i + 16 <= n; i += 16)
    for (size_t j = 0; j < 8; ++j) sa[j] += double(y[i + j]), sb[j] += double(y[i + 8 + j]);
  double s = 0;
  for (size_t j = 0; j < 8; ++j) s += sa[j] + sb[j];
  for (; i < n; ++i) s += double(y[i]);
  if (log) {
    const T shift = m + T(std::log(s));
    for (size_t j = 0; j < n; ++j) y[j] = x[j] - shift;
  } else {
    const T inv = T(1.0 / s);
    for (size_t j = 0; j < n; ++j) y[j] *= inv;
  }
  return y;
}

// Equal bits (so +0 and -0 differ), or both NaN (whose payload is not meant).
template <class T>
bool same_bits(const std::vector<T>& want, const T* got) {
  for (size_t j = 0; j < want.size(); ++j)
    if (std::memcmp(&want[j], &got[j], sizeof(T)) != 0 && !(want[j] != want[j] && got[j] != got[j])) return false;
  return true;
}

}  // namespace

TEST_CASE("softmax rows of every length, short ones too, in the kernel's order, bit for bit") {
  // 1..70 values a row: below, at and past a block of lanes (16 or 8), with
  // -inf (a masked entry) and a NaN in some rows.
  Generator gen(3);
  for (DType dt : {DType::f32, DType::f64})
    for (int64_t n = 1; n <= 70; ++n) {
      CAPTURE(n);
      const int64_t rows = 4;
      std::vector<double> v = mul(randn({rows, n}, gen, DType::f64), 8.0).to_vector<double>();
      v[size_t(n + n / 2)] = -INFINITY;
      if (n > 1) v[size_t(2 * n)] = NAN;
      for (int64_t j = 0; j < n; ++j) v[size_t(3 * n + j)] = j % 3 ? -0.0 : 0.0;
      const Tensor x = from_vector(v, {rows, n}).to(dt);
      for (bool log : {false, true}) {
        CAPTURE(log);
        const Tensor y = log ? log_softmax(x, -1) : softmax(x, -1);
        for (int64_t r = 0; r < rows; ++r) {
          CAPTURE(r);
          if (dt == DType::f32) {
            const std::vector<float> xs = x.to_vector<float>(), ys = y.to_vector<float>();
            const std::vector<float> want =
                softmax_row_model(std::vector<float>(xs.begin() + r * n, xs.begin() + (r + 1) * n), log);
            CHECK(same_bits(want, ys.data() + r * n));
          } else {
            const std::vector<double> xs = x.to_vector<double>(), ys = y.to_vector<double>();
            const std::vector<double> want =
                softmax_row_model(std::vector<double>(xs.begin() + r * n, xs.begin() + (r + 1) * n), log);
            CHECK(same_bits(want, ys.data() + r * n));
          }
        }
      }
    }
}

TEST_CASE("cumsum along every axis, floats and integers") {
  uint64_t seed = 50;
  for (DType dt : {DType::f32, DType::f64, DType::i64})
    for (int axis = 0; axis < 3; ++axis) {
      const Tensor x = ref::make_input({3, 4, 5}, dt, Layout::strided, seed++, -10, 10);
      ref::check_close(
          cumsum(x, axis), x.shape(),
          [&](Index i) {
            double s = 0;
            const int64_t upto = i[size_t(axis)];
            for (int64_t r = 0; r <= upto; ++r) {
              i[size_t(axis)] = r;
              s += ref::read(x, i);
            }
            return s;
          },
          1e-6, 1e-6, fmt::format("cumsum {} axis {}", dtype_name(dt), axis));
    }
  CHECK(cumsum(gt(tensor({1, 0, 1, 1}), 0.5), 0).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 2, 3});
}

TEST_CASE("gather, scatter_add and index_select") {
  const Tensor x = tensor({10, 11, 12, 20, 21, 22}, {2, 3});
  const Tensor idx = from_vector(std::vector<int64_t>{2, 0, 1, 1}, {2, 2});
  CHECK(gather(x, 1, idx).to_vector<float>() == std::vector<float>{12, 10, 21, 21});
  CHECK(gather(x, 0, from_vector(std::vector<int32_t>{1, 0, 1}, {1, 3})).to_vector<float>() ==
        std::vector<float>{20, 11, 22});
  CHECK(gather(x, -1, from_vector(std::vector<int64_t>{-1, 0}, {2, 1})).to_vector<float>() ==
        std::vector<float>{12, 20});
  // gather on a transposed view
  CHECK(gather(x.mT(), 0, from_vector(std::vector<int64_t>{2, 1}, {1, 2})).to_vector<float>() ==
        std::vector<float>{12, 21});

  const Tensor s = scatter_add(zeros({2, 3}), 1, idx, tensor({1, 2, 3, 4}, {2, 2}));
  CHECK(s.to_vector<float>() == std::vector<float>{2, 0, 1, 0, 7, 0});  // duplicates accumulate
  Tensor acc = zeros({4});
  scatter_add_(acc, 0, from_vector(std::vector<int64_t>{3, 3, 0}), tensor({1, 1, 5}));
  CHECK(acc.to_vector<float>() == std::vector<float>{5, 0, 0, 2});

  // gather then scatter_add of ones counts how often each index was picked
  Generator gen(3);
  const Tensor picks = randint(0, 5, {4, 50}, gen);
  const Tensor counts = scatter_add(zeros({4, 5}, DType::f64), 1, picks, ones({4, 50}, DType::f64));
  CHECK(sum(counts, {1}).to_vector<double>() == std::vector<double>(4, 50));
  const auto pv = picks.to_vector<int64_t>();
  double c2 = 0;
  for (int j = 0; j < 50; ++j) c2 += pv[size_t(50 + j)] == 2;
  CHECK(counts.to_vector<double>()[7] == c2);

  CHECK(index_select(x, 1, from_vector(std::vector<int64_t>{2, 2, 0})).to_vector<float>() ==
        std::vector<float>{12, 12, 10, 22, 22, 20});
  CHECK(index_select(x, 0, from_vector(std::vector<int32_t>{1})).to_vector<float>() == std::vector<float>{20, 21, 22});
  CHECK(index_select(x, 0, zeros({0}, DType::i64)).shape() == Shape{0, 3});
  // Rows of one element, of a few and of more than 16, and enough of them that
  // threads split the rows mid-way through an index list: against plain loops.
  const Tensor big = randn({30, 7, 20}, gen);
  const std::vector<float> bv = big.to_vector<float>();
  const Tensor many = randint(0, 7, {4001}, gen);
  for (int64_t axis : {1, 2}) {
    const Tensor chosen = axis == 1 ? many : randint(0, 20, {4001}, gen);
    const Tensor picked = index_select(big, axis, chosen);
    const std::vector<int64_t> iv = chosen.to_vector<int64_t>();
    const std::vector<float> got = picked.to_vector<float>();
    bool same = true;
    for (int64_t o = 0; o < 30; ++o)
      for (int64_t j = 0; j < 4001; ++j) {
        if (axis == 1)
          for (int64_t i = 0; i < 20; ++i)
            same &= got[size_t((o * 4001 + j) * 20 + i)] == bv[size_t((o * 7 + iv[size_t(j)]) * 20 + i)];
        else
          for (int64_t r = 0; r < 7; ++r)
            same &= got[size_t((o * 7 + r) * 4001 + j)] == bv[size_t((o * 7 + r) * 20 + iv[size_t(j)])];
      }
    CHECK_MESSAGE(same, "index_select along axis ", axis);
  }
  const Tensor few = randn({500, 3}, gen);  // rows of three: a replay buffer's observations
  const Tensor rows = randint(0, 500, {256}, gen);
  const std::vector<float> fv = few.to_vector<float>(), got = index_select(few, 0, rows).to_vector<float>();
  const std::vector<int64_t> rv = rows.to_vector<int64_t>();
  bool same = true;
  for (size_t j = 0; j < rv.size(); ++j)
    for (size_t i = 0; i < 3; ++i) same &= got[j * 3 + i] == fv[size_t(rv[j]) * 3 + i];
  CHECK(same);

  CHECK_THROWS_WITH_AS(gather(x, 1, from_vector(std::vector<int64_t>{3}, {1, 1})),
                       "gather: index 3 is out of range for an axis of size 3", Error);
  CHECK_THROWS_WITH_AS(gather(x, 1, from_vector(std::vector<int64_t>{0})),
                       "gather: index of shape [1] must have the rank of the tensor's shape [2, 3]", Error);
  CHECK_THROWS_WITH_AS(gather(x, 1, zeros({2, 1})), "gather: indices must be i32 or i64, got f32", Error);
  CHECK_THROWS_WITH_AS(gather(x, 1, zeros({3, 1}, DType::i64)),
                       "gather: index of shape [3, 1] is larger than the tensor's shape [2, 3] off axis 1", Error);
  CHECK_THROWS_WITH_AS(scatter_add(x, 1, idx, zeros({2, 3})),
                       "scatter_add: src of shape [2, 3] must match index of shape [2, 2]", Error);
  CHECK_THROWS_WITH_AS(index_select(x, 0, from_vector(std::vector<int64_t>{-3})),
                       "index_select: index -3 is out of range for an axis of size 2", Error);
}

TEST_CASE("one_hot") {
  const Tensor oh = one_hot(from_vector(std::vector<int64_t>{2, 0, 1}), 4);
  CHECK(oh.shape() == Shape{3, 4});
  CHECK(oh.to_vector<float>() == std::vector<float>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0});
  CHECK(one_hot(from_vector(std::vector<int32_t>{1, 0}, {2, 1}), 2, DType::f64).shape() == Shape{2, 1, 2});
  CHECK_THROWS_WITH_AS(one_hot(from_vector(std::vector<int64_t>{4}), 4), "one_hot: index 4 is outside [0, 4)", Error);
  CHECK_THROWS_WITH_AS(one_hot(from_vector(std::vector<int64_t>{-1}), 4), "one_hot: index -1 is outside [0, 4)", Error);
  // On a device the bad indices are counted there and nothing is read back (ref raises at once).
  const Tensor on_ref = from_vector(std::vector<int64_t>{2, 0, 1}).to(Device::ref);
  const uint64_t reads = transfer_counts().to_host;
  const Tensor oh_ref = one_hot(on_ref, 4);
  CHECK(transfer_counts().to_host == reads);
  CHECK(oh_ref.to(Device::cpu).to_vector<float>() == oh.to_vector<float>());
  CHECK_THROWS_WITH_AS(one_hot(from_vector(std::vector<int64_t>{4, -1, 3}).to(Device::ref), 4),
                       "one_hot: indices outside [0, 4) (2 found)", Error);
}

TEST_CASE("concat, stack and split") {
  const Tensor a = tensor({1, 2, 3, 4}, {2, 2}), b = tensor({5, 6}, {1, 2});
  CHECK(concat({a, b}, 0).to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(concat({a, a.mT()}, 1).to_vector<float>() == std::vector<float>{1, 2, 1, 3, 3, 4, 2, 4});
  CHECK(concat({a, zeros({0, 2})}, 0).shape() == Shape{2, 2});
  const Tensor s = stack({tensor({1, 2}), tensor({3, 4}), tensor({5, 6})}, 1);
  CHECK(s.shape() == Shape{2, 3});
  CHECK(s.to_vector<float>() == std::vector<float>{1, 3, 5, 2, 4, 6});
  CHECK(stack({scalar(1), scalar(2)}).to_vector<float>() == std::vector<float>{1, 2});

  const Tensor x = arange(0, 10, 1, DType::f32);
  const std::vector<Tensor> parts = split(x, 4);
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].to_vector<float>() == std::vector<float>{8, 9});
  CHECK(parts[1].storage() == x.storage());  // views
  const std::vector<Tensor> p2 = split(x.view({2, 5}), std::vector<int64_t>{1, 4}, 1);
  CHECK(p2[1].to_vector<float>() == std::vector<float>{1, 2, 3, 4, 6, 7, 8, 9});
  CHECK_THROWS_WITH_AS(split(x, std::vector<int64_t>{3, 3}),
                       "split: sizes add up to 6, but axis 0 of shape [10] has 10", Error);
  CHECK_THROWS_WITH_AS(concat({a, tensor({1, 2, 3}, {1, 3})}, 0),
                       "concat: tensor 1 has shape [1, 3], which does not match [2, 2] off axis 0", Error);
  CHECK_THROWS_WITH_AS(concat({a, a.to(DType::f64)}), "concat: tensor 1 is f64 on cpu, tensor 0 is f32 on cpu", Error);
  CHECK_THROWS_WITH_AS(stack({a, b}), "stack: tensor 1 has shape [1, 2], tensor 0 has [2, 2]", Error);
  CHECK_THROWS_WITH_AS(concat({}), "concat: needs at least one tensor", Error);
}
