// The tensor ops that backward passes lean on, against naive reference loops:
// index_add_ (embedding's gradient: repeated and negative indices, every axis,
// strided src), sum_to (undoing broadcasting, to every broadcast-compatible
// shape, empty axes included) and scalar_like (the constant of every
// "tensor op double"); f32 and f64, with their errors.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "tests/tensor/reference.h"

using namespace gradlab;
using ref::Index;
using ref::Layout;

namespace {

// f32 sums of a handful of O(1) terms are off by a few ulp of the result.
double tolerance(DType dt) { return dt == DType::f32 ? 2e-6 : 1e-13; }

// Linear (C-order) offset of idx in shape.
int64_t linear(const Index& idx, const Shape& shape) {
  int64_t lin = 0;
  for (int d = 0; d < shape.size(); ++d) lin = lin * shape[d] + idx[size_t(d)];
  return lin;
}

Tensor make_index(const std::vector<int64_t>& v, DType dt, bool zero_dim = false) {
  const Shape shape = zero_dim ? Shape{} : Shape{int64_t(v.size())};
  Tensor i = from_vector(v, shape);
  return dt == DType::i64 ? i : i.to(dt);
}

struct IndexAddCase {
  Shape shape;
  int64_t axis;
  std::vector<int64_t> index;
  bool zero_dim_index = false;
};

}  // namespace

TEST_CASE("index_add_ against a reference loop: every axis, repeated and negative indices, strided src") {
  const std::vector<IndexAddCase> cases = {
      {{6}, 0, {5, -1, 0, 0, 2}},     // -1 and 5 are the same row: both add
      {{4, 3}, 0, {3, 1, 3}},         //
      {{4, 3}, 1, {2, 0, 2, 2, -3}},  // -3 is column 0
      {{4, 3}, -1, {1}},              // a negative axis
      {{2, 5, 3}, 1, {4, 4, 0, -5, 1, 3, 2}},
      {{2, 5, 3}, 2, {0, 2}},
      {{3, 1, 2}, 1, {0, 0, -1}},  // an axis of size 1, hit three times
      {{4, 3}, 0, {2}, true},      // a 0-d index adds one slice
      {{0, 3}, 1, {1, 1}},         // no rows: nothing to add, nothing to break
  };
  uint64_t seed = 1;
  for (DType dt : {DType::f32, DType::f64})
    for (DType idt : {DType::i64, DType::i32})
      for (const IndexAddCase& c : cases)
        for (Layout layout : {Layout::contiguous, Layout::transposed, Layout::strided}) {
          const std::string what = fmt::format("index_add_ {} {} axis {} index {} src {}", dtype_name(dt), c.shape,
                                               c.axis, Shape(c.index), ref::layout_name(layout));
          const int a = int(c.axis < 0 ? c.axis + c.shape.size() : c.axis);
          Shape src_shape = c.shape;
          src_shape[a] = int64_t(c.index.size());
          const Tensor before = ref::make_input(c.shape, dt, Layout::contiguous, seed++);
          const Tensor src = ref::make_input(src_shape, dt, layout, seed++);
          Tensor x = before.clone();
          const uint64_t version = x.version();
          Tensor& result = index_add_(x, c.axis, make_index(c.index, idt, c.zero_dim_index), src);
          CHECK_MESSAGE(&result == &x, what);
          // Accumulate the reference: every src slice j lands on row wrap(index[j]).
          std::map<int64_t, double> added;
          for (const Index& i : ref::all_indices(src_shape)) {
            Index to = i;
            const int64_t raw = c.index[size_t(i[size_t(a)])];
            to[size_t(a)] = raw < 0 ? raw + c.shape[a] : raw;
            added[linear(to, c.shape)] += ref::read(src, i);
          }
          ref::check_close(
              x, c.shape, [&](const Index& i) { return ref::read(before, i) + added[linear(i, c.shape)]; },
              tolerance(dt), tolerance(dt), what);
          // An in-place write bumps the version autograd checks saved tensors against.
          if (c.shape.numel() > 0) CHECK_MESSAGE(x.version() > version, what);
        }
}

TEST_CASE("index_add_ with many repeats over the parallel outer axes") {
  // Outer axes large enough to split across threads; repeats must still add serially.
  for (DType dt : {DType::f32, DType::f64}) {
    Generator gen(17);
    const Tensor index = randint(-50, 50, {120}, gen, DType::i64);
    const Tensor src = ref::make_input({64, 120, 8}, dt, Layout::transposed, 18);
    const Tensor before = ref::make_input({64, 50, 8}, dt, Layout::contiguous, 19);
    Tensor x = before.clone();
    index_add_(x, 1, index, src);
    const std::vector<int64_t> iv = index.to_vector<int64_t>();
    ref::check_close(
        x, before.shape(),
        [&](const Index& i) {
          double s = ref::read(before, i);
          for (int64_t j = 0; j < 120; ++j)
            if ((iv[size_t(j)] + 50) % 50 == i[1]) s += ref::read(src, {i[0], j, i[2]});
          return s;
        },
        tolerance(dt) * 4, tolerance(dt) * 4, fmt::format("index_add_ {} [64, 50, 8] axis 1", dtype_name(dt)));
  }
}

TEST_CASE("index_add_ errors name the op and leave the tensor unchanged") {
  Tensor x = zeros({4, 3});
  CHECK_THROWS_WITH_AS(index_add_(x, 0, from_vector(std::vector<int64_t>{1, 4}), ones({2, 3})),
                       doctest::Contains("index_add: index 4 is out of range for an axis of size 4"), Error);
  CHECK(x.to_vector<float>() == std::vector<float>(12, 0.0f));  // row 1 was not written either
  CHECK_THROWS_WITH_AS(index_add_(x, 1, from_vector(std::vector<int64_t>{0}), ones({4, 2})),
                       doctest::Contains("index_add_: src of shape [4, 2] should be [4, 1]"), Error);
  CHECK_THROWS_WITH_AS(index_add_(x, 0, from_vector(std::vector<int64_t>{0}), ones({1, 3}, DType::f64)),
                       doctest::Contains("index_add_: src dtype f64 differs from the tensor's f32"), Error);
  Tensor xt = zeros({3, 4}).mT();
  CHECK_THROWS_WITH_AS(index_add_(xt, 0, from_vector(std::vector<int64_t>{0}), ones({1, 3})),
                       doctest::Contains("index_add_: the tensor must be contiguous"), Error);
  CHECK_THROWS_WITH_AS(index_add_(x, 0, ones({1}), ones({1, 3})),
                       doctest::Contains("index_add_: indices must be i32 or i64, got f32"), Error);
}

TEST_CASE("sum_to against a reference loop: every broadcast-compatible target, strided inputs") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{3, 4}, {4}},          {{3, 4}, {3, 1}}, {{3, 4}, {1, 4}},
      {{3, 4}, {1, 1}},       {{3, 4}, {}},     {{2, 3, 4}, {3, 1}},
      {{2, 3, 4}, {2, 1, 4}}, {{2, 3, 4}, {1}}, {{5, 1, 3}, {1, 3}},
      {{2, 3, 4}, {2, 3, 4}}, {{7}, {1}},       {{7}, {}},
      {{0, 3}, {3}},          {{4, 0}, {4, 1}}, {{2, 0, 3}, {1, 3}},
  };
  uint64_t seed = 100;
  for (DType dt : {DType::f32, DType::f64})
    for (const auto& [from, to] : cases)
      for (Layout layout : {Layout::contiguous, Layout::transposed, Layout::strided}) {
        const std::string what =
            fmt::format("sum_to {} {} -> {} {}", dtype_name(dt), from, to, ref::layout_name(layout));
        const Tensor x = ref::make_input(from, dt, layout, seed++);
        std::map<int64_t, double> sums;  // every x element adds into the target element it broadcasts from
        for (const Index& i : ref::all_indices(from)) sums[linear(ref::broadcast_index(i, to), to)] += ref::read(x, i);
        const Tensor y = sum_to(x, to);
        CHECK_MESSAGE(y.dtype() == dt, what);
        ref::check_close(
            y, to, [&](const Index& i) { return sums[linear(i, to)]; }, tolerance(dt), tolerance(dt) * 10, what);
      }
  CHECK_THROWS_WITH_AS(sum_to(zeros({3, 4}), {2, 4}),
                       doctest::Contains("sum_to: shape [3, 4] is not a broadcast of [2, 4]"), Error);
  CHECK_THROWS_WITH_AS(sum_to(zeros({3, 4}), {5, 3, 4}),
                       doctest::Contains("sum_to: shape [3, 4] is not a broadcast of [5, 3, 4]"), Error);
  CHECK_THROWS_WITH_AS(sum_to(Tensor(), {1}), doctest::Contains("sum_to: tensor is undefined"), Error);
}

TEST_CASE("scalar_like: a 0-d tensor of the like's dtype, broadcasting against every shape") {
  uint64_t seed = 300;
  for (DType dt : {DType::f32, DType::f64})
    for (double v : {0.1, -3.5, 1e30, 0.0})
      for (const Shape& shape : {Shape{}, Shape{0}, Shape{5}, Shape{3, 1, 4}})
        for (Layout layout : {Layout::contiguous, Layout::transposed, Layout::strided}) {
          const std::string what =
              fmt::format("scalar_like({}) {} {} {}", v, dtype_name(dt), shape, ref::layout_name(layout));
          const Tensor like = ref::make_input(shape, dt, layout, seed++);
          const Tensor s = scalar_like(v, like);
          CHECK_MESSAGE(s.shape() == Shape{}, what);
          CHECK_MESSAGE(s.dtype() == dt, what);
          CHECK_MESSAGE(s.device() == like.device(), what);
          // The value rounded to the dtype once: f32 holds float(0.1), not 0.1.
          const double held = dt == DType::f32 ? double(float(v)) : v;
          CHECK_MESSAGE(s.item() == held, what);
          // x + scalar_like(v, x): each element plus the held value, rounded to
          // the dtype once. Rounding the double sum of two floats to f32 gives
          // the correctly rounded f32 sum (53 >= 2 * 24 + 2 bits), so no slack.
          ref::check_close(
              add(like, s), shape,
              [&](const Index& i) {
                const double sum = ref::read(like, i) + held;
                return dt == DType::f32 ? double(float(sum)) : sum;
              },
              0, 0, what);
        }
  CHECK_THROWS_WITH_AS(scalar_like(1.0, Tensor()), doctest::Contains("scalar_like: tensor is undefined"), Error);
}
