// Making tensors: filled (zeros, ones, full), ranges (arange, linspace), the
// identity (eye), and copies of host data (from_vector). Random tensors live in
// tensor/random.h.
#pragma once

#include <vector>

#include "tensor/tensor.h"

namespace gradlab {

Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);
// 0-d tensor holding one value.
Tensor scalar(double value, DType dtype = DType::f32, Device device = Device::cpu);
// start, start + step, ... below end (above, for a negative step).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::f32, Device device = Device::cpu);
inline Tensor arange(int64_t n, DType dtype = DType::i64) { return arange(0, double(n), 1, dtype); }
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::f32, Device device = Device::cpu);
// n x m (m = n by default) with ones on the diagonal.
Tensor eye(int64_t n, int64_t m = -1, DType dtype = DType::f32, Device device = Device::cpu);

// A tensor holding a copy of `values` (size must equal the shape's numel; an
// empty shape means 1-D of values.size()). The dtype follows T.
template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape = {}, Device device = Device::cpu);
// Shorthands: tensor({1, 2, 3}) is f32 1-D; tensor({...}, {2, 3}) reshapes.
Tensor tensor(std::initializer_list<double> values, const Shape& shape = {}, DType dtype = DType::f32);

}  // namespace gradlab
