// Reference sort and topk along one axis of x, seen as [outer, n, inner]: each
// line of n values is copied out as (value, position) pairs, put in order by
// std::stable_sort, and its first entries written back. NaN orders as the
// largest value (last ascending, first descending); equal values keep their
// positions' order (stable), so topk's ties keep the lower index first.
#include <algorithm>
#include <utility>
#include <vector>

#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

namespace {

// Whether a sorts strictly before b, NaN counting as the largest value.
template <class T>
bool before(T a, T b, bool descending) {
  const bool a_nan = a != a, b_nan = b != b;
  if (a_nan || b_nan) return descending ? a_nan && !b_nan : b_nan && !a_nan;
  return descending ? a > b : a < b;
}

// Sorts every line of x along axis and writes its first `keep` entries (values
// and i64 positions) into values and indices, whose axis has size keep.
template <class T>
void sort_lines(const Tensor& x, int axis, bool descending, int64_t keep, const Tensor& values, const Tensor& indices) {
  const AxisSplit s = split_at_axis(x.shape(), axis);
  std::vector<std::pair<T, int64_t>> line(size_t(s.n));
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t i = 0; i < s.inner; ++i) {
      for (int64_t r = 0; r < s.n; ++r) line[size_t(r)] = {at<T>(x, (o * s.n + r) * s.inner + i), r};
      std::stable_sort(line.begin(), line.end(),
                       [&](const auto& a, const auto& b) { return before(a.first, b.first, descending); });
      for (int64_t r = 0; r < keep; ++r) {
        at<T>(values, (o * keep + r) * s.inner + i) = line[size_t(r)].first;
        at<int64_t>(indices, (o * keep + r) * s.inner + i) = line[size_t(r)].second;
      }
    }
}

}  // namespace

// values, indices [x's shape]: x sorted along axis (stable).
void sort(const Tensor& x, int axis, bool descending, const Tensor& values, const Tensor& indices) {
  dispatch_numeric(x.dtype(), "sort",
                   [&](auto tag) { sort_lines<decltype(tag)>(x, axis, descending, x.shape()[axis], values, indices); });
}

// values, indices [x's shape, k on axis]: the k largest (smallest) along axis,
// in order: the first k of the stable sort.
void topk(const Tensor& x, int64_t k, int axis, bool largest, const Tensor& values, const Tensor& indices) {
  dispatch_numeric(x.dtype(), "topk",
                   [&](auto tag) { sort_lines<decltype(tag)>(x, axis, /*descending=*/largest, k, values, indices); });
}

}  // namespace gradlab::ref
