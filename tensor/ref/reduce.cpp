// Reference reductions: sum, max and min over any set of axes, argmax and
// argmin along one, and cumsum along one. Every element of x is folded into
// its output in C order; floating values accumulate in double and are rounded
// once at the end, integers in int64 (exact). max and min propagate NaN;
// argmax and argmin return the first index of the extreme (a NaN counts as the
// extreme, as in max).
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "tensor/functors.h"
#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

namespace {

// Where the fold of op starts: 0 for sum, the bottom (top) of T's range for max (min).
template <class T, class Acc>
Acc fold_start(ReduceOp op) {
  if (op == ReduceOp::sum) return Acc(0);
  if constexpr (std::is_floating_point_v<T>)
    return op == ReduceOp::max ? -INFINITY : INFINITY;
  else
    return op == ReduceOp::max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
}

}  // namespace

// out [x's shape, 1 on the reduced axes] = op over `axes` of x.
void reduce(ReduceOp op, const Tensor& x, std::span<const int> axes, const Tensor& out) {
  bool reduced[kMaxDims] = {};
  for (int a : axes) reduced[a] = true;
  dispatch_numeric(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    std::vector<Acc> acc(size_t(out.numel()), fold_start<T, Acc>(op));
    int64_t coords[kMaxDims];
    for (int64_t i = 0; i < x.numel(); ++i) {
      // Element i of x lands on the output with its reduced coordinates set to 0.
      unravel(x.shape(), i, coords);
      for (int d = 0; d < x.dim(); ++d)
        if (reduced[d]) coords[d] = 0;
      Acc& a = acc[size_t(ravel(out.shape(), coords))];
      const Acc v = Acc(at<T>(x, i));
      switch (op) {
        case ReduceOp::sum: a += v; break;
        case ReduceOp::max: a = fn::Maximum{}(a, v); break;
        case ReduceOp::min: a = fn::Minimum{}(a, v); break;
      }
    }
    for (int64_t j = 0; j < out.numel(); ++j) at<T>(out, j) = T(acc[size_t(j)]);
  });
}

// out (i64) [x's shape, 1 on axis] = index along axis of the first max (min).
void arg_reduce(ArgReduceOp op, const Tensor& x, int axis, const Tensor& out) {
  const std::string_view name = op == ArgReduceOp::argmax ? "argmax" : "argmin";
  const AxisSplit s = split_at_axis(x.shape(), axis);  // x seen as [outer, n, inner]
  GL_CHECK(s.n > 0, "{}: axis {} of shape {} is empty", name, axis, x.shape());
  dispatch_numeric(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    // Whether v replaces the best so far: a NaN beats every number (the first
    // NaN wins), otherwise only a strictly greater (smaller) value does.
    auto better = [&](T v, T best) {
      if (v != v) return best == best;
      return op == ArgReduceOp::argmax ? v > best : v < best;
    };
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        T best = at<T>(x, (o * s.n + 0) * s.inner + i);
        int64_t arg = 0;
        for (int64_t r = 1; r < s.n; ++r) {
          const T v = at<T>(x, (o * s.n + r) * s.inner + i);
          if (better(v, best)) best = v, arg = r;
        }
        at<int64_t>(out, o * s.inner + i) = arg;
      }
  });
}

// out[.., r, ..] = x[.., 0, ..] + ... + x[.., r, ..] along axis (each output
// is the running sum rounded once).
void cumsum(const Tensor& x, int axis, const Tensor& out) {
  const AxisSplit s = split_at_axis(x.shape(), axis);
  dispatch_numeric(x.dtype(), "cumsum", [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t i = 0; i < s.inner; ++i) {
        Acc sum = 0;
        for (int64_t r = 0; r < s.n; ++r) {
          const int64_t e = (o * s.n + r) * s.inner + i;
          sum += Acc(at<T>(x, e));
          at<T>(out, e) = T(sum);
        }
      }
  });
}

}  // namespace gradlab::ref
