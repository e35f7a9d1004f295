// CPU sort and topk along one axis. Each row of the [outer, n, inner] layout is
// copied out as (value, index) pairs, ordered with std::stable_sort (long
// rows: the radix sort of radix_sort.h, which gives the same order) or
// std::partial_sort, and written back. NaN orders as the largest value.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/radix_sort.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

template <class T>
bool is_nan(T v) {
  return v != v;
}

// Strict "a sorts before b" in ascending order, NaN last; ties keep index order.
template <class T>
bool ascending(const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& b) {
  if (is_nan(a.first) || is_nan(b.first)) {
    if (is_nan(a.first) != is_nan(b.first)) return is_nan(b.first);
    return a.second < b.second;
  }
  if (a.first != b.first) return a.first < b.first;
  return a.second < b.second;
}
template <class T>
bool descending(const std::pair<T, int64_t>& a, const std::pair<T, int64_t>& b) {
  if (is_nan(a.first) || is_nan(b.first)) {
    if (is_nan(a.first) != is_nan(b.first)) return is_nan(a.first);
    return a.second < b.second;
  }
  if (a.first != b.first) return a.first > b.first;
  return a.second < b.second;
}

// Calls order(row) for each row and writes its first `keep` entries.
template <class T, class Order>
void sort_rows(const Tensor& x_in, int axis, int64_t keep, const Tensor& values, const Tensor& indices, Order order) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  const T* src = x.data<T>();
  T* vals = values.data<T>();
  int64_t* idx = indices.data<int64_t>();
  parallel_for(s.outer * s.inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(s.n, 1)), [&](int64_t b, int64_t e) {
    // The thread's row buffer, kept between calls (long rows would otherwise fault in fresh pages each time).
    thread_local std::vector<std::pair<T, int64_t>> row;
    row.resize(static_cast<size_t>(s.n));
    for (int64_t job = b; job < e; ++job) {
      const int64_t o = job / s.inner, i = job % s.inner;
      for (int64_t r = 0; r < s.n; ++r) row[size_t(r)] = {src[(o * s.n + r) * s.inner + i], r};
      order(row);
      for (int64_t r = 0; r < keep; ++r) {
        vals[(o * keep + r) * s.inner + i] = row[size_t(r)].first;
        idx[(o * keep + r) * s.inner + i] = row[size_t(r)].second;
      }
    }
    release_if_large(row);
  });
}

}  // namespace

// From this many entries a row is radix sorted (a comparison sort below: fewer passes over short rows).
constexpr int64_t kRadixRows = 256;

void sort(const Tensor& x, int axis, bool descending_order, const Tensor& values, const Tensor& indices) {
  dispatch_numeric(x.dtype(), "sort", [&](auto tag) {
    using T = decltype(tag);
    sort_rows<T>(x, axis, x.shape()[axis], values, indices, [&](std::vector<std::pair<T, int64_t>>& row) {
      if (int64_t(row.size()) >= kRadixRows && row.size() <= size_t(UINT32_MAX))
        radix_sort_row(row, descending_order);
      else if (descending_order)
        std::stable_sort(row.begin(), row.end(), descending<T>);
      else
        std::stable_sort(row.begin(), row.end(), ascending<T>);
    });
  });
}

void topk(const Tensor& x, int64_t k, int axis, bool largest, const Tensor& values, const Tensor& indices) {
  dispatch_numeric(x.dtype(), "topk", [&](auto tag) {
    using T = decltype(tag);
    sort_rows<T>(x, axis, k, values, indices, [&](std::vector<std::pair<T, int64_t>>& row) {
      // Comparators are total orders (index breaks ties), so partial_sort is deterministic.
      if (largest)
        std::partial_sort(row.begin(), row.begin() + k, row.end(), descending<T>);
      else
        std::partial_sort(row.begin(), row.begin() + k, row.end(), ascending<T>);
    });
  });
}

}  // namespace gradlab::cpu
