// Tensor: a view (shape, strides, offset, dtype) onto a reference-counted
// Storage that lives on one device. Views share storage and never copy;
// contiguous(), clone() and to() make new storage when they must. Strides and
// offsets are in elements. Ops are free functions in tensor/ops.h. fmt prints
// a Tensor (see format_tensor).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "tensor/dtype.h"
#include "tensor/shape.h"

namespace gradlab {

// A block of device memory. Every in-place write through any view bumps
// `version`, so autograd can tell when a tensor it saved has been changed.
struct Storage {
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data = nullptr;
  size_t nbytes = 0;
  Device device = Device::cpu;
  uint64_t version = 0;
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::shared_ptr<Storage> storage, const Shape& shape, const Shape& strides, int64_t offset, DType dtype);

  // A fresh, uninitialised, contiguous tensor.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);

  // ---- metadata ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int dim() const { return shape_.size(); }
  int64_t size(int64_t axis) const;
  const Shape& strides() const { return strides_; }
  int64_t stride(int64_t axis) const;
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const;
  bool is_cpu() const { return device() == Device::cpu; }
  bool is_cuda() const { return device() == Device::cuda; }
  // Throws, naming `who`, unless the CPU addresses this tensor's memory directly.
  void check_host_memory(const char* who) const;
  int64_t numel() const { return shape_.numel(); }
  size_t itemsize() const { return dtype_size(dtype_); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  // ---- raw data (CPU) ----
  // Pointer to the first element of a CPU tensor; checks that T matches the
  // dtype and that the tensor is on the CPU (a tensor on another device is
  // read with .to(Device::cpu), item() or to_vector(): one counted crossing).
  template <class T>
  T* data() const {
    GL_CHECK(dtype_of<T>() == dtype_, "data<{}>: tensor has dtype {}", dtype_name(dtype_of<T>()), dtype_name(dtype_));
    GL_CHECK(is_cpu(), "data<{}>: tensor is on {}, not the CPU; copy it with .to(Device::cpu) first",
             dtype_name(dtype_), device());
    return static_cast<T*>(data_ptr());
  }
  // The same for a backend's own kernels on any device whose memory the host
  // addresses (cpu, ref): no device check, only the dtype's and host memory's.
  template <class T>
  T* host_data() const {
    GL_CHECK(dtype_of<T>() == dtype_, "host_data<{}>: tensor has dtype {}", dtype_name(dtype_of<T>()),
             dtype_name(dtype_));
    check_host_memory("host_data");
    return static_cast<T*>(data_ptr());
  }
  void* data_ptr() const;

  // ---- host values ----
  // The single value of a one-element tensor, converted to T.
  template <class T = double>
  T item() const;
  // All values in C order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // ---- views (no copy) ----
  Tensor view(const Shape& shape) const;     // one -1 is inferred; throws if strides forbid it
  Tensor reshape(const Shape& shape) const;  // a view when strides allow, otherwise a copy
  Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Tensor permute(const Shape& axes) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor mT() const { return transpose(-2, -1); }  // swap the last two axes
  // Python-style slice [start:end:step] on one axis; start/end are clamped, may be negative.
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;  // strict bounds
  Tensor select(int64_t axis, int64_t index) const;                  // drops the axis
  Tensor expand(const Shape& shape) const;                           // -1 keeps a size; new axes on the left
  Tensor broadcast_to(const Shape& shape) const { return expand(shape); }
  Tensor squeeze() const;                // drops every size-1 axis
  Tensor squeeze(int64_t axis) const;    // drops this axis, which must have size 1
  Tensor unsqueeze(int64_t axis) const;  // inserts a size-1 axis

  // ---- copies ----
  Tensor contiguous() const;  // *this when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;

  // ---- in place (bump the version) ----
  Tensor& copy_(const Tensor& src);  // src broadcasts to this shape; dtypes may differ
  Tensor& fill_(double value);
  // this = this * value elementwise: mul(*this, value)'s numbers (the scalar
  // rounded to this dtype), written in place without a temporary.
  Tensor& mul_(double value);
  uint64_t version() const { return storage_ ? storage_->version : 0; }
  void bump_version() const;

  std::string to_string() const;  // as printed by fmt, e.g. "Tensor([2, 3], f32) [[...]]"

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::f32;
};

// True when two views may write the same element: some axis of size > 1 has
// stride 0 (an expanded view). Writing into such a tensor is refused.
bool has_internal_overlap(const Tensor& t);

// Shape, dtype, device, then values with long axes abbreviated to their first
// and last three entries: "Tensor([2, 3], f32) [[1, 2, 3], [4, 5, 6]]".
std::string format_tensor(const Tensor& t);

}  // namespace gradlab

template <>
struct fmt::formatter<gradlab::Tensor> : gradlab::PlainFormatter {
  auto format(const gradlab::Tensor& t, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}", gradlab::format_tensor(t));
  }
};
