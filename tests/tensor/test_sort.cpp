// sort, argsort and topk against std::stable_sort of each row: every axis,
// both directions, ties (stable), NaN placement, and k at the edges.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tests/tensor/reference.h"

using namespace gradlab;
using ref::Index;
using ref::Layout;

TEST_CASE("sort matches a stable sort of every row, with ties") {
  uint64_t seed = 1;
  for (DType dt : {DType::f32, DType::f64, DType::i32})
    for (int axis = 0; axis < 3; ++axis)
      for (bool desc : {false, true}) {
        // small integer range: many ties, which must keep index order
        const Tensor x = ref::make_input({4, 5, 6}, dt, Layout::transposed, seed++, -3, 3).to(dt);
        const Tensor xi = dt == DType::i32 ? x : x.to(DType::i32).to(dt);  // whole numbers
        const ValuesIndices r = sort(xi, axis, desc);
        CHECK(r.indices.dtype() == DType::i64);
        Shape shape = xi.shape();
        auto row = [&](Index i) {
          std::vector<std::pair<double, int64_t>> v;
          for (int64_t k = 0; k < shape[axis]; ++k) {
            i[size_t(axis)] = k;
            v.push_back({ref::read(xi, i), k});
          }
          std::stable_sort(v.begin(), v.end(),
                           [&](auto& a, auto& b) { return desc ? a.first > b.first : a.first < b.first; });
          return v;
        };
        ref::check_close(
            r.values, shape, [&](const Index& i) { return row(i)[size_t(i[size_t(axis)])].first; }, 0, 0,
            "sort values");
        ref::check_close(
            r.indices, shape, [&](const Index& i) { return double(row(i)[size_t(i[size_t(axis)])].second); }, 0, 0,
            "sort indices");
      }
}

TEST_CASE("NaN sorts last ascending and first descending") {
  const Tensor x = tensor({3, NAN, 1, 2});
  const auto asc = sort(x).values.to_vector<double>();
  CHECK(asc[0] == 1);
  CHECK(asc[2] == 3);
  CHECK(std::isnan(asc[3]));
  CHECK(std::isnan(sort(x, 0, true).values.to_vector<double>()[0]));
  CHECK(argsort(x).to_vector<int64_t>() == std::vector<int64_t>{2, 3, 0, 1});
}

TEST_CASE("topk returns the k largest or smallest in order") {
  const Tensor x = tensor({5, 1, 9, 3, 9, 7, 2, 8}, {2, 4});
  const ValuesIndices t = topk(x, 2, 1);
  CHECK(t.values.to_vector<float>() == std::vector<float>{9, 5, 9, 8});
  CHECK(t.indices.to_vector<int64_t>() == std::vector<int64_t>{2, 0, 0, 3});
  const ValuesIndices s = topk(x, 3, 1, false);
  CHECK(s.values.to_vector<float>() == std::vector<float>{1, 3, 5, 2, 7, 8});
  const ValuesIndices col = topk(x, 1, 0);
  CHECK(col.values.to_vector<float>() == std::vector<float>{9, 7, 9, 8});
  CHECK(col.indices.to_vector<int64_t>() == std::vector<int64_t>{1, 1, 0, 1});
  CHECK(topk(x, 0, 1).values.shape() == Shape{2, 0});
  CHECK(topk(x, 4, 1).values.to_vector<float>() == sort(x, 1, true).values.to_vector<float>());
  // ties: lower index first
  CHECK(topk(tensor({1, 4, 4, 4}), 2).indices.to_vector<int64_t>() == std::vector<int64_t>{1, 2});
  // against a full sort on random rows
  Generator gen(4);
  const Tensor r = randn({3, 100}, gen);
  const ValuesIndices tk = topk(r, 10, 1);
  const Tensor full = sort(r, 1, true).values.slice(1, 0, 10);
  CHECK(tk.values.to_vector<float>() == full.to_vector<float>());
  CHECK(gather(r, 1, tk.indices).to_vector<float>() == tk.values.to_vector<float>());
  CHECK_THROWS_WITH_AS(topk(x, 5, 1), "topk: k = 5 is outside [0, 4] for axis 1 of shape [2, 4]", Error);
  CHECK_THROWS_WITH_AS(topk(scalar(1), 1), "topk: needs a tensor with at least one axis", Error);
}

TEST_CASE("long rows (the radix sort) give the comparison sort's order: ties, NaN, signed zeros, infinities") {
  // Rows from 255 (a comparison sort) to 40,000 entries; values drawn from a small
  // set so that ties are common, with NaN, -0, +0 and the infinities among them.
  const double specials[] = {NAN, -0.0, 0.0, INFINITY, -INFINITY, -1.5, 2.25, 1e-30, -1e30};
  Generator gen(11);
  for (int64_t n : {255, 256, 1000, 40000})
    for (DType dt : {DType::f32, DType::f64, DType::i32, DType::i64})
      for (bool desc : {false, true}) {
        CAPTURE(n);
        CAPTURE(dtype_name(dt));
        CAPTURE(desc);
        const std::vector<int64_t> pick = randint(0, 9, {n}, gen).to_vector<int64_t>();
        const std::vector<double> noise = randn({n}, gen, DType::f64).to_vector<double>();
        std::vector<double> v(static_cast<size_t>(n));
        const bool is_float = dt == DType::f32 || dt == DType::f64;
        for (size_t i = 0; i < v.size(); ++i) {
          // a third of the entries from the specials, the rest spread values (ints: -3..3 and large magnitudes)
          if (is_float)
            v[i] = pick[i] < 3 ? specials[pick[i] * 3 % 9 + i % 3] : noise[i] * (pick[i] < 6 ? 1.0 : 1e6);
          else
            v[i] = pick[i] < 6 ? double(pick[i] - 3) : std::round(noise[i] * 1e9);
        }
        const Tensor x = from_vector(v, {n}).to(dt);
        const std::vector<double> xs = x.to_vector<double>();  // what the tensor holds (f32 rounding)
        std::vector<std::pair<double, int64_t>> want;
        for (int64_t i = 0; i < n; ++i) want.push_back({xs[size_t(i)], i});
        // NaN is the largest value; equal values (-0 == +0) keep index order
        std::stable_sort(want.begin(), want.end(), [&](const auto& a, const auto& b) {
          const bool an = std::isnan(a.first), bn = std::isnan(b.first);
          if (an || bn) return desc ? an && !bn : !an && bn;
          return desc ? a.first > b.first : a.first < b.first;
        });
        const ValuesIndices r = sort(x, 0, desc);
        const std::vector<int64_t> idx = r.indices.to_vector<int64_t>();
        const std::vector<double> got = r.values.to_vector<double>();
        bool same = true;
        for (size_t i = 0; i < want.size() && same; ++i) {
          same = idx[i] == want[i].second;
          // each value keeps its own bits: the sign of a zero too
          same = same && (std::isnan(got[i]) ? std::isnan(xs[size_t(idx[i])])
                                             : got[i] == xs[size_t(idx[i])] &&
                                                   std::signbit(got[i]) == std::signbit(xs[size_t(idx[i])]));
        }
        CHECK(same);
      }
}

TEST_CASE("argsort of a long random row is a permutation in value order") {
  Generator gen(12);
  const Tensor x = rand({3, 50000}, gen);
  const Tensor order = argsort(x, 1);
  const Tensor sorted = gather(x, 1, order);
  const std::vector<float> s = sorted.to_vector<float>();
  for (int64_t row = 0; row < 3; ++row) {
    const std::vector<int64_t> o = order.slice(0, row, row + 1).contiguous().to_vector<int64_t>();
    std::vector<int64_t> seen = o;
    std::sort(seen.begin(), seen.end());
    std::vector<int64_t> all(50000);
    std::iota(all.begin(), all.end(), 0);
    CHECK(seen == all);
    bool ordered = true;
    for (int64_t i = 1; i < 50000; ++i) {
      const float a = s[size_t(row * 50000 + i - 1)], b = s[size_t(row * 50000 + i)];
      ordered = ordered && (a < b || (a == b && o[size_t(i - 1)] < o[size_t(i)]));
    }
    CHECK(ordered);
  }
}
