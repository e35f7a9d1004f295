// Making tensors: fills, ranges, identity, copies of host vectors.
#include "tensor/creation.h"

#include <cmath>
#include <cstring>

namespace gradlab {

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, device);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype(), t.device()); }
Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }
Tensor scalar(double value, DType dtype, Device device) { return full({}, value, dtype, device); }

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  GL_CHECK(step != 0 && std::isfinite(step) && std::isfinite(start) && std::isfinite(end),
           "arange: need finite start, end and a non-zero step, got ({}, {}, {})", start, end, step);
  const double count = std::ceil((end - start) / step);
  const int64_t n = count > 0 ? int64_t(count) : 0;
  Tensor host = Tensor::empty({n}, dtype, Device::cpu);
  dispatch_numeric(dtype, "arange", [&](auto tag) {
    using T = decltype(tag);
    T* p = host.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + double(i) * step);
  });
  return host.to(device);
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  GL_CHECK(steps >= 0, "linspace: steps must be >= 0, got {}", steps);
  Tensor host = Tensor::empty({steps}, dtype, Device::cpu);
  dispatch_float(dtype, "linspace", [&](auto tag) {
    using T = decltype(tag);
    T* p = host.data<T>();
    const double h = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
    for (int64_t i = 0; i < steps; ++i) p[i] = static_cast<T>(i + 1 == steps ? end : start + double(i) * h);
  });
  return host.to(device);
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  if (m < 0) m = n;
  GL_CHECK(n >= 0, "eye: size must be >= 0, got {}", n);
  Tensor t = zeros({n, m}, dtype, device);
  // The diagonal is a strided view with stride m + 1.
  const int64_t k = std::min(n, m);
  Tensor diag(t.storage(), {k}, {m + 1}, 0, dtype);
  diag.fill_(1.0);
  return t;
}

template <class T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape_in, Device device) {
  const Shape shape = shape_in.empty() ? Shape{int64_t(values.size())} : shape_in;
  GL_CHECK(shape.numel() == int64_t(values.size()), "from_vector: {} values do not fill shape {}", values.size(),
           shape);
  Tensor host = Tensor::empty(shape, dtype_of<T>(), Device::cpu);
  if (!values.empty()) std::memcpy(host.data_ptr(), values.data(), values.size() * sizeof(T));
  return host.to(device);
}
template Tensor from_vector(const std::vector<float>&, const Shape&, Device);
template Tensor from_vector(const std::vector<double>&, const Shape&, Device);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&, Device);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&, Device);

Tensor tensor(std::initializer_list<double> values, const Shape& shape, DType dtype) {
  return from_vector(std::vector<double>(values), shape).to(dtype);
}

}  // namespace gradlab
