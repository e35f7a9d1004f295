// Shape: a small fixed-capacity list of dimension sizes (also used for strides),
// kept inline so that making a tensor never allocates for its metadata. Plus the
// shape arithmetic every op needs: numel, contiguous strides, axis wrapping and
// NumPy broadcasting. fmt prints a Shape as [2, 3].
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/error.h"

namespace gradlab {

constexpr int kMaxDims = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(std::span<const int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t back() const { return d_[n_ - 1]; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + n_; }
  int64_t* begin() { return d_; }
  int64_t* end() { return d_ + n_; }

  void push_back(int64_t v) {
    GL_CHECK(n_ < kMaxDims, "shape: at most {} dimensions are supported", kMaxDims);
    d_[n_++] = v;
  }
  void insert(int pos, int64_t v) {
    push_back(0);
    for (int i = n_ - 1; i > pos; --i) d_[i] = d_[i - 1];
    d_[pos] = v;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
    --n_;
  }
  void resize(int n, int64_t fill = 0) {
    GL_CHECK(n >= 0 && n <= kMaxDims, "shape: at most {} dimensions are supported", kMaxDims);
    for (int i = n_; i < n; ++i) d_[i] = fill;
    n_ = n;
  }
  std::vector<int64_t> vec() const { return {begin(), end()}; }

  // Product of the sizes (1 for a 0-d shape).
  int64_t numel() const {
    int64_t p = 1;
    for (int i = 0; i < n_; ++i) p *= d_[i];
    return p;
  }

  friend bool operator==(const Shape& a, const Shape& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

 private:
  template <class It>
  void assign(It first, It last) {
    GL_CHECK(last - first <= kMaxDims, "shape: at most {} dimensions are supported, got {}", kMaxDims, last - first);
    n_ = 0;
    for (; first != last; ++first) d_[n_++] = *first;
  }

  int64_t d_[kMaxDims] = {};
  int n_ = 0;
};

// Row-major (C-order) strides, in elements.
inline Shape contiguous_strides(const Shape& shape) {
  Shape s;
  s.resize(shape.size());
  int64_t step = 1;
  for (int i = shape.size() - 1; i >= 0; --i) {
    s[i] = step;
    step *= std::max<int64_t>(shape[i], 1);
  }
  return s;
}

// Maps a possibly negative axis into [0, ndim); throws naming the op otherwise.
// A 0-d tensor accepts axis 0 or -1, as if it had one axis of size 1.
inline int wrap_axis(int64_t axis, int ndim, std::string_view op) {
  const int n = std::max(ndim, 1);
  GL_CHECK(axis >= -n && axis < n, "{}: axis {} is out of range for a tensor with {} dimensions", op, axis, ndim);
  return ndim == 0 ? 0 : static_cast<int>(axis < 0 ? axis + ndim : axis);
}

// A contiguous tensor seen as [outer, n, inner] around one axis: the layout
// every along-an-axis kernel (softmax, cumsum, gather, sort...) walks.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
};
inline AxisSplit split_at_axis(const Shape& shape, int axis) {
  AxisSplit s;
  for (int i = 0; i < shape.size(); ++i) {
    if (i < axis)
      s.outer *= shape[i];
    else if (i == axis)
      s.n = shape[i];
    else
      s.inner *= shape[i];
  }
  return s;
}

// Broadcast result shape of a and b under NumPy rules, or nullopt-like failure.
bool try_broadcast(const Shape& a, const Shape& b, Shape& out);

// As try_broadcast, but throws "op: shapes A and B do not broadcast".
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

}  // namespace gradlab

template <>
struct fmt::formatter<gradlab::Shape> : gradlab::PlainFormatter {
  auto format(const gradlab::Shape& s, fmt::format_context& ctx) const {
    auto out = fmt::format_to(ctx.out(), "[");
    for (int i = 0; i < s.size(); ++i) out = fmt::format_to(out, "{}{}", i ? ", " : "", s[i]);
    return fmt::format_to(out, "]");
  }
};
