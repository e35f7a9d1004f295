// How the reference kernels reach a tensor's elements: by position in C order
// (row-major over the shape), turned into a memory offset through the strides.
// Every reference kernel reads and writes this way, one element at a time, so
// none of them cares whether an operand is contiguous, a transposed view or an
// expanded one (stride 0): slower than walking pointers, but one rule for all.
#pragma once

#include <cstdint>

#include "tensor/tensor.h"

namespace gradlab::ref {

// coords[d] (for each axis d of shape) of element i in C order.
inline void unravel(const Shape& shape, int64_t i, int64_t* coords) {
  for (int d = shape.size() - 1; d >= 0; --d) {
    coords[d] = i % shape[d];
    i /= shape[d];
  }
}

// The C-order position of the element at coords in shape.
inline int64_t ravel(const Shape& shape, const int64_t* coords) {
  int64_t i = 0;
  for (int d = 0; d < shape.size(); ++d) i = i * shape[d] + coords[d];
  return i;
}

// The element at coords of t (T must be t's dtype).
template <class T>
T& at_coords(const Tensor& t, const int64_t* coords) {
  int64_t offset = 0;  // in elements, from t's first element
  for (int d = 0; d < t.dim(); ++d) offset += coords[d] * t.strides()[d];
  return t.host_data<T>()[offset];
}

// Element i (C order) of t.
template <class T>
T& at(const Tensor& t, int64_t i) {
  int64_t coords[kMaxDims];
  unravel(t.shape(), i, coords);
  return at_coords<T>(t, coords);
}

}  // namespace gradlab::ref
