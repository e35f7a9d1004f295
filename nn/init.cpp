// Parameter initialisers.
#include "nn/init.h"

#include <cmath>

namespace gradlab::nn {

std::pair<int64_t, int64_t> fans(const Shape& shape) {
  GL_CHECK(shape.size() >= 1, "init: a weight needs at least one axis, got shape {}", shape);
  if (shape.size() == 1) return {shape[0], shape[0]};
  int64_t lead = 1;
  for (int i = 0; i + 2 < shape.size(); ++i) lead *= shape[i];
  return {shape[shape.size() - 1] * lead, shape[shape.size() - 2] * lead};
}

Tensor xavier_uniform(const Shape& shape, Generator& gen, double gain, DType dtype) {
  const auto [in, out] = fans(shape);
  const double b = gain * std::sqrt(6.0 / double(in + out));
  return uniform(shape, -b, b, gen, dtype);
}

Tensor xavier_normal(const Shape& shape, Generator& gen, double gain, DType dtype) {
  const auto [in, out] = fans(shape);
  return normal(shape, 0.0, gain * std::sqrt(2.0 / double(in + out)), gen, dtype);
}

Tensor kaiming_uniform(const Shape& shape, Generator& gen, double gain, DType dtype) {
  const double b = gain * std::sqrt(3.0 / double(fans(shape).first));
  return uniform(shape, -b, b, gen, dtype);
}

Tensor kaiming_normal(const Shape& shape, Generator& gen, double gain, DType dtype) {
  return normal(shape, 0.0, gain / std::sqrt(double(fans(shape).first)), gen, dtype);
}

Tensor orthogonal(const Shape& shape, Generator& gen, double gain, DType dtype) {
  GL_CHECK(shape.size() >= 2, "orthogonal: expected a matrix [rows, cols], got shape {}", shape);
  const int64_t rows = shape[shape.size() - 2], cols = shape[shape.size() - 1];
  const Svd d = svd(randn(shape, gen, DType::f64));
  // Tall: U [rows, cols] has orthonormal columns; wide: Vh [rows, cols] orthonormal rows.
  const Tensor q = rows >= cols ? d.U : d.Vh;
  return mul(q, gain).to(dtype).contiguous();
}

Tensor fan_in_uniform(const Shape& shape, int64_t fan_in, Generator& gen, DType dtype) {
  GL_CHECK(fan_in > 0, "init: fan_in must be positive, got {}", fan_in);
  const double b = 1.0 / std::sqrt(double(fan_in));
  return uniform(shape, -b, b, gen, dtype);
}

}  // namespace gradlab::nn
