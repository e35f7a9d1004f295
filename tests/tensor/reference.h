// Test helpers for tests/tensor: reading elements straight from storage through
// strides (independent of every kernel), making contiguous and non-contiguous
// inputs of a given shape, and comparing a result against a naive reference
// computed in double precision, reporting the first mismatches.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tensor/bf16.h"
#include "tensor/ops.h"

namespace ref {

using gradlab::DType;
using gradlab::Shape;
using gradlab::Tensor;
using Index = std::vector<int64_t>;

// Every multi-index of a shape, in C order.
inline std::vector<Index> all_indices(const Shape& shape) {
  std::vector<Index> out;
  const int64_t n = shape.numel();
  for (int64_t lin = 0; lin < n; ++lin) {
    Index idx(size_t(shape.size()));
    int64_t rem = lin;
    for (int d = shape.size() - 1; d >= 0; --d) {
      idx[size_t(d)] = rem % shape[d];
      rem /= shape[d];
    }
    out.push_back(idx);
  }
  return out;
}

// The element at idx, read through the tensor's strides and offset.
inline double read(const Tensor& t, const Index& idx) {
  int64_t off = 0;
  for (int d = 0; d < t.dim(); ++d) off += idx[size_t(d)] * t.strides()[d];
  const char* base = static_cast<const char*>(t.storage()->data) + (t.offset() + off) * int64_t(t.itemsize());
  switch (t.dtype()) {
    case DType::f32: return *reinterpret_cast<const float*>(base);
    case DType::f64: return *reinterpret_cast<const double*>(base);
    case DType::i32: return *reinterpret_cast<const int32_t*>(base);
    case DType::i64: return double(*reinterpret_cast<const int64_t*>(base));
    case DType::b8: return *reinterpret_cast<const bool*>(base) ? 1.0 : 0.0;
    case DType::bf16: return gradlab::bf16_to_float(*reinterpret_cast<const uint16_t*>(base));
  }
  return NAN;
}

// The index into an input of shape `in` that broadcasting maps out_idx to.
inline Index broadcast_index(const Index& out_idx, const Shape& in) {
  Index idx(size_t(in.size()));
  const size_t lead = out_idx.size() - size_t(in.size());
  for (int d = 0; d < in.size(); ++d) idx[size_t(d)] = in[d] == 1 ? 0 : out_idx[lead + size_t(d)];
  return idx;
}

enum class Layout { contiguous, transposed, strided };
inline const char* layout_name(Layout l) {
  return l == Layout::contiguous ? "contiguous" : l == Layout::transposed ? "transposed" : "strided";
}

// A tensor of `shape` with values uniform in [lo, hi), laid out as asked:
// transposed is the reversed-axes view of a contiguous tensor; strided takes
// every second element of the last axis of a twice-as-long tensor.
inline Tensor make_input(const Shape& shape, DType dtype, Layout layout, uint64_t seed, double lo = -2, double hi = 2) {
  gradlab::Generator gen(seed);
  auto values = [&](const Shape& s) {
    if (gradlab::is_floating(dtype)) return gradlab::uniform(s, lo, hi, gen, dtype);
    return gradlab::randint(int64_t(lo), int64_t(hi), s, gen, dtype);
  };
  if (layout == Layout::contiguous || shape.size() == 0) return values(shape);
  if (layout == Layout::transposed) {
    Shape rev, perm;
    for (int d = shape.size() - 1; d >= 0; --d) {
      rev.push_back(shape[d]);
      perm.push_back(d);
    }
    return values(rev).permute(perm);
  }
  Shape wide = shape;
  wide[wide.size() - 1] *= 2;
  return values(wide).slice(-1, 0, wide[wide.size() - 1], 2);
}

// Checks got against want(idx) elementwise: |got - want| <= atol + rtol |want|,
// with NaN matching NaN and infinities matching exactly.
inline void check_close(const Tensor& got, const Shape& shape, const std::function<double(const Index&)>& want,
                        double rtol, double atol, const std::string& what) {
  REQUIRE_MESSAGE(got.shape() == shape,
                  what << ": shape " << fmt::format("{}", got.shape()) << " != " << fmt::format("{}", shape));
  int bad = 0;
  double worst = 0;
  std::string first;
  for (const Index& idx : all_indices(shape)) {
    const double g = read(got, idx), w = want(idx);
    bool ok;
    if (std::isnan(w))
      ok = std::isnan(g);
    else if (std::isinf(w))
      ok = g == w;
    else
      ok = std::fabs(g - w) <= atol + rtol * std::fabs(w);
    if (!ok) {
      worst = std::max(worst, std::fabs(g - w));
      if (bad++ < 3) first += fmt::format(" at {} got {} want {};", Shape(idx), g, w);
    }
  }
  CHECK_MESSAGE(bad == 0, what << ": " << bad << " mismatches, largest difference " << worst << ":" << first);
}

inline std::string shape_str(const Shape& s) { return fmt::format("{}", s); }

}  // namespace ref
