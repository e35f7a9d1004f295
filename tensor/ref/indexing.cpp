// Reference indexing along one axis: gather, scatter_add, index_select and
// index_add. Indices are i32 or i64; a negative one counts from the end of the
// axis, and every index is checked before anything is written, so an op that
// fails leaves its output as it was. The two adds accumulate in double
// (floating) or int64 (integers) and round once: duplicate indices add up
// exactly, whatever their order.
#include <string_view>
#include <type_traits>
#include <vector>

#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

namespace {

// Every entry of index (C order), checked against an axis of size n and
// wrapped into [0, n).
std::vector<int64_t> read_indices(const Tensor& index, int64_t n, std::string_view op) {
  std::vector<int64_t> out(size_t(index.numel()));
  dispatch_index(index.dtype(), op, [&](auto tag) {
    using I = decltype(tag);
    for (int64_t j = 0; j < index.numel(); ++j) {
      const int64_t raw = int64_t(at<I>(index, j));
      GL_CHECK(raw >= -n && raw < n, "{}: index {} is out of range for an axis of size {}", op, raw, n);
      out[size_t(j)] = raw < 0 ? raw + n : raw;
    }
  });
  return out;
}

// The accumulator of an add into T: double for floating T, int64 for integers.
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

}  // namespace

// out[c] = x[c with c[axis] replaced by index[c]] for every position c of out
// (index's shape: off the axis no larger than x's).
void gather(const Tensor& x, int axis, const Tensor& index, const Tensor& out) {
  const std::vector<int64_t> idx = read_indices(index, x.shape()[axis], "gather");
  dispatch_all(x.dtype(), "gather", [&](auto tag) {
    using T = decltype(tag);
    int64_t c[kMaxDims] = {};
    for (int64_t j = 0; j < out.numel(); ++j) {
      unravel(out.shape(), j, c);
      c[axis] = idx[size_t(j)];
      at<T>(out, j) = at_coords<T>(x, c);
    }
  });
}

// out[c with c[axis] replaced by index[c]] += src[c] for every position c of
// index (and src), in place.
void scatter_add(const Tensor& out, int axis, const Tensor& index, const Tensor& src) {
  const std::vector<int64_t> idx = read_indices(index, out.shape()[axis], "scatter_add");
  dispatch_numeric(out.dtype(), "scatter_add", [&](auto tag) {
    using T = decltype(tag);
    std::vector<Acc<T>> sum(size_t(out.numel()));  // out's values, then every src added
    for (int64_t j = 0; j < out.numel(); ++j) sum[size_t(j)] = Acc<T>(at<T>(out, j));
    int64_t c[kMaxDims] = {};
    for (int64_t j = 0; j < index.numel(); ++j) {
      unravel(index.shape(), j, c);
      c[axis] = idx[size_t(j)];
      sum[size_t(ravel(out.shape(), c))] += Acc<T>(at<T>(src, j));
    }
    for (int64_t j = 0; j < out.numel(); ++j) at<T>(out, j) = T(sum[size_t(j)]);
  });
}

// out[.., j, ..] = x[.., index[j], ..] along axis, for the 1-D index.
void index_select(const Tensor& x, int axis, const Tensor& index, const Tensor& out) {
  const std::vector<int64_t> idx = read_indices(index, x.shape()[axis], "index_select");
  dispatch_all(x.dtype(), "index_select", [&](auto tag) {
    using T = decltype(tag);
    int64_t c[kMaxDims] = {};
    for (int64_t j = 0; j < out.numel(); ++j) {
      unravel(out.shape(), j, c);
      c[axis] = idx[size_t(c[axis])];
      at<T>(out, j) = at_coords<T>(x, c);
    }
  });
}

// out[.., index[j], ..] += src[.., j, ..] along axis, for the 1-D index, in place.
void index_add(const Tensor& out, int axis, const Tensor& index, const Tensor& src) {
  const std::vector<int64_t> idx = read_indices(index, out.shape()[axis], "index_add");
  dispatch_numeric(out.dtype(), "index_add", [&](auto tag) {
    using T = decltype(tag);
    std::vector<Acc<T>> sum(size_t(out.numel()));  // out's values, then every src added
    for (int64_t j = 0; j < out.numel(); ++j) sum[size_t(j)] = Acc<T>(at<T>(out, j));
    int64_t c[kMaxDims] = {};
    for (int64_t j = 0; j < src.numel(); ++j) {
      unravel(src.shape(), j, c);
      c[axis] = idx[size_t(c[axis])];
      sum[size_t(ravel(out.shape(), c))] += Acc<T>(at<T>(src, j));
    }
    for (int64_t j = 0; j < out.numel(); ++j) at<T>(out, j) = T(sum[size_t(j)]);
  });
}

}  // namespace gradlab::ref
