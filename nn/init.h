// Parameter initialisers. Each returns a fresh tensor of the given shape drawn
// from the generator. fan_in and fan_out are those of a Linear weight
// [out, in]; gains follow the usual convention (sqrt(2) for ReLU, 5/3 for tanh).
#pragma once

#include "tensor/ops.h"

namespace gradlab::nn {

// fan_in and fan_out of a weight: [out, in] (or [.., out, in]: the leading axes multiply both).
std::pair<int64_t, int64_t> fans(const Shape& shape);

// U(-b, b), b = gain sqrt(6 / (fan_in + fan_out)) / N(0, gain^2 2 / (fan_in + fan_out)).
Tensor xavier_uniform(const Shape& shape, Generator& gen, double gain = 1.0, DType dtype = DType::f32);
Tensor xavier_normal(const Shape& shape, Generator& gen, double gain = 1.0, DType dtype = DType::f32);
// U(-b, b), b = gain sqrt(3 / fan_in) / N(0, gain^2 / fan_in); gain sqrt(2) suits ReLU.
Tensor kaiming_uniform(const Shape& shape, Generator& gen, double gain = 1.4142135623730951, DType dtype = DType::f32);
Tensor kaiming_normal(const Shape& shape, Generator& gen, double gain = 1.4142135623730951, DType dtype = DType::f32);
// A (semi-)orthogonal matrix [rows, cols] times gain: the U or V factor of the
// thin SVD of a Gaussian matrix. Leading axes give independent matrices.
Tensor orthogonal(const Shape& shape, Generator& gen, double gain = 1.0, DType dtype = DType::f32);
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): the default of Linear weights and biases.
Tensor fan_in_uniform(const Shape& shape, int64_t fan_in, Generator& gen, DType dtype = DType::f32);

}  // namespace gradlab::nn
