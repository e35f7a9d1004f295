// Tensor metadata and views. Views compute new shape/strides/offset over the
// same Storage; anything that must move data (contiguous, clone, to, copy_,
// fill_) goes through the device's copy and fill kernels.
#include "tensor/tensor.h"

#include <algorithm>

#include "tensor/allocator.h"
#include "tensor/backend.h"
#include "tensor/creation.h"
#include "tensor/pool.h"

namespace gradlab {

Storage::Storage(size_t n, Device d) : data(device_alloc(d, n)), nbytes(n), device(d) {}
Storage::~Storage() { device_free(device, data, nbytes); }

Tensor::Tensor(std::shared_ptr<Storage> storage, const Shape& shape, const Shape& strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)), shape_(shape), strides_(strides), offset_(offset), dtype_(dtype) {}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t s : shape) GL_CHECK(s >= 0, "empty: negative size in shape {}", shape);
  if (device != Device::cpu) backend(device);  // a clear error when the device is unavailable
  // the Storage record and its count share one block from the per-thread pool
  auto storage =
      std::allocate_shared<Storage>(pool::Allocator<Storage>{}, size_t(shape.numel()) * dtype_size(dtype), device);
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Device Tensor::device() const { return storage_ ? storage_->device : Device::cpu; }

void Tensor::check_host_memory(const char* who) const {
  GL_CHECK(backend(device()).host_memory, "{}: tensor is on {}, whose memory the host cannot address", who, device());
}

int64_t Tensor::size(int64_t axis) const { return shape_[wrap_axis(axis, dim(), "size")]; }
int64_t Tensor::stride(int64_t axis) const { return strides_[wrap_axis(axis, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (shape_[i] == 0) return true;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

void* Tensor::data_ptr() const {
  GL_CHECK(defined(), "data: tensor is undefined");
  return static_cast<char*>(storage_->data) + offset_ * int64_t(itemsize());
}

void Tensor::bump_version() const {
  if (storage_) ++storage_->version;
}

bool has_internal_overlap(const Tensor& t) {
  for (int i = 0; i < t.dim(); ++i)
    if (t.shape()[i] > 1 && t.strides()[i] == 0) return true;
  return false;
}

// ---------------------------------------------------------------- views

namespace {

// Replaces a single -1 in `shape` by the size that makes numel match.
Shape infer_size(Shape shape, int64_t numel, std::string_view op, const Shape& from) {
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      GL_CHECK(infer < 0, "{}: only one size may be -1, got {}", op, shape);
      infer = i;
    } else {
      GL_CHECK(shape[i] >= 0, "{}: invalid size {} in shape {}", op, shape[i], shape);
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    GL_CHECK(known != 0 && numel % known == 0, "{}: cannot view shape {} ({} elements) as {}", op, from, numel, shape);
    shape[infer] = numel / known;
  }
  GL_CHECK(shape.numel() == numel, "{}: cannot view shape {} ({} elements) as {} ({} elements)", op, from, numel, shape,
           shape.numel());
  return shape;
}

// Strides that let `shape` view memory laid out as (old_shape, old_strides),
// or false when no such strides exist. Walks the old axes from the right in
// chunks that are contiguous among themselves; each chunk must be exactly
// covered by a run of new axes.
bool view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape, Shape& out) {
  out.resize(shape.size());
  if (old_shape.numel() == 0 || old_shape.size() == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  int new_axis = shape.size() - 1;
  int64_t chunk_stride = old_strides.back();
  int64_t old_count = 1, new_count = 1;
  for (int axis = old_shape.size() - 1; axis >= 0; --axis) {
    old_count *= old_shape[axis];
    const bool chunk_ends =
        axis == 0 || (old_shape[axis - 1] != 1 && old_strides[axis - 1] != old_count * chunk_stride);
    if (!chunk_ends) continue;
    while (new_axis >= 0 && (new_count < old_count || shape[new_axis] == 1)) {
      out[new_axis] = new_count * chunk_stride;
      new_count *= shape[new_axis];
      --new_axis;
    }
    if (new_count != old_count) return false;
    if (axis > 0) {
      chunk_stride = old_strides[axis - 1];
      old_count = new_count = 1;
    }
  }
  return new_axis == -1;
}

}  // namespace

Tensor Tensor::view(const Shape& shape_in) const {
  const Shape shape = infer_size(shape_in, numel(), "view", shape_);
  Shape strides;
  GL_CHECK(view_strides(shape_, strides_, shape, strides),
           "view: shape {} with strides {} cannot be viewed as {} without a copy (use reshape)", shape_, strides_,
           shape);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::reshape(const Shape& shape_in) const {
  const Shape shape = infer_size(shape_in, numel(), "reshape", shape_);
  Shape strides;
  if (view_strides(shape_, strides_, shape, strides)) return Tensor(storage_, shape, strides, offset_, dtype_);
  return clone().view(shape);
}

Tensor Tensor::flatten(int64_t start_axis, int64_t end_axis) const {
  if (dim() == 0) return reshape({1});
  const int s = wrap_axis(start_axis, dim(), "flatten");
  const int e = wrap_axis(end_axis, dim(), "flatten");
  GL_CHECK(s <= e, "flatten: start axis {} is after end axis {}", start_axis, end_axis);
  Shape shape;
  for (int i = 0; i < s; ++i) shape.push_back(shape_[i]);
  int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= shape_[i];
  shape.push_back(merged);
  for (int i = e + 1; i < dim(); ++i) shape.push_back(shape_[i]);
  return reshape(shape);
}

Tensor Tensor::permute(const Shape& axes) const {
  GL_CHECK(axes.size() == dim(), "permute: {} axes given for a tensor of shape {}", axes.size(), shape_);
  Shape shape, strides;
  bool seen[kMaxDims] = {};
  for (int i = 0; i < dim(); ++i) {
    const int a = wrap_axis(axes[i], dim(), "permute");
    GL_CHECK(!seen[a], "permute: axes {} repeat axis {}", axes, a);
    seen[a] = true;
    shape.push_back(shape_[a]);
    strides.push_back(strides_[a]);
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  const int i = wrap_axis(a, dim(), "transpose");
  const int j = wrap_axis(b, dim(), "transpose");
  Shape shape = shape_, strides = strides_;
  std::swap(shape[i], shape[j]);
  std::swap(strides[i], strides[j]);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  const int a = wrap_axis(axis, dim(), "slice");
  GL_CHECK(step > 0, "slice: step must be positive, got {}", step);
  const int64_t n = shape_[a];
  auto clamp_index = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clamp_index(start);
  end = std::max(clamp_index(end), start);
  Shape shape = shape_, strides = strides_;
  shape[a] = (end - start + step - 1) / step;
  strides[a] = strides_[a] * step;
  return Tensor(storage_, shape, strides, offset_ + start * strides_[a], dtype_);
}

Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const {
  const int a = wrap_axis(axis, dim(), "narrow");
  GL_CHECK(start >= 0 && length >= 0 && start + length <= shape_[a],
           "narrow: [{}, {}) is out of range for axis {} of shape {}", start, start + length, a, shape_);
  return slice(a, start, start + length);
}

Tensor Tensor::select(int64_t axis, int64_t index) const {
  const int a = wrap_axis(axis, dim(), "select");
  const int64_t n = shape_[a];
  GL_CHECK(index >= -n && index < n, "select: index {} is out of range for axis {} of shape {}", index, a, shape_);
  if (index < 0) index += n;
  Shape shape = shape_, strides = strides_;
  shape.erase(a);
  strides.erase(a);
  return Tensor(storage_, shape, strides, offset_ + index * strides_[a], dtype_);
}

Tensor Tensor::expand(const Shape& target) const {
  GL_CHECK(target.size() >= dim(), "expand: cannot expand shape {} to fewer dimensions {}", shape_, target);
  const int lead = target.size() - dim();
  Shape shape, strides;
  for (int i = 0; i < target.size(); ++i) {
    if (i < lead) {
      GL_CHECK(target[i] >= 0, "expand: invalid size {} in {}", target[i], target);
      shape.push_back(target[i]);
      strides.push_back(0);
      continue;
    }
    const int64_t have = shape_[i - lead];
    const int64_t want = target[i] == -1 ? have : target[i];
    GL_CHECK(have == want || have == 1, "expand: shape {} cannot be broadcast to {}", shape_, target);
    shape.push_back(want);
    strides.push_back(have == want ? strides_[i - lead] : 0);
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze() const {
  Shape shape, strides;
  for (int i = 0; i < dim(); ++i) {
    if (shape_[i] == 1) continue;
    shape.push_back(shape_[i]);
    strides.push_back(strides_[i]);
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze(int64_t axis) const {
  const int a = wrap_axis(axis, dim(), "squeeze");
  GL_CHECK(shape_[a] == 1, "squeeze: axis {} of shape {} has size {}, not 1", a, shape_, shape_[a]);
  Shape shape = shape_, strides = strides_;
  shape.erase(a);
  strides.erase(a);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  const int a = wrap_axis(axis, dim() + 1, "unsqueeze");
  Shape shape = shape_, strides = strides_;
  const int64_t stride = a < dim() ? strides_[a] * shape_[a] : 1;
  shape.insert(a, 1);
  strides.insert(a, stride);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

// ---------------------------------------------------------------- copies

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  GL_CHECK(defined(), "clone: tensor is undefined");
  Tensor out = empty(shape_, dtype_, device());
  kernel(&Backend::copy, device(), "clone")(*this, out);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  GL_CHECK(defined(), "to: tensor is undefined");
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype, device());
  kernel(&Backend::copy, device(), "to")(*this, out);
  return out;
}

Tensor Tensor::to(Device target) const {
  GL_CHECK(defined(), "to: tensor is undefined");
  if (target == device()) return *this;
  // Through each side's table: host memory is copied directly, device memory
  // through its backend's copies to and from the host.
  const Backend& from = backend(device());
  const Backend& to = backend(target);
  if (!from.host_memory && !to.host_memory) return this->to(Device::cpu).to(target);  // staged on the host
  count_crossing(device(), target);
  const Tensor src = contiguous();
  Tensor out = empty(shape_, dtype_, target);
  const size_t nbytes = size_t(numel()) * itemsize();
  if (nbytes == 0) return out;
  if (from.host_memory)
    to.copy_from_host(out.data_ptr(), src.data_ptr(), nbytes);
  else
    from.copy_to_host(out.data_ptr(), src.data_ptr(), nbytes);
  return out;
}

Tensor& Tensor::copy_(const Tensor& src) {
  GL_CHECK(defined() && src.defined(), "copy_: tensor is undefined");
  GL_CHECK(!has_internal_overlap(*this),
           "copy_: destination of shape {} and strides {} has overlapping elements (an expanded view)", shape_,
           strides_);
  Shape out;
  GL_CHECK(try_broadcast(src.shape(), shape_, out) && out == shape_,
           "copy_: source of shape {} does not broadcast to destination shape {}", src.shape(), shape_);
  const Tensor source = src.device() == device() ? src : src.to(device());
  kernel(&Backend::copy, device(), "copy_")(source.expand(shape_), *this);
  bump_version();
  return *this;
}

Tensor& Tensor::fill_(double value) {
  GL_CHECK(defined(), "fill_: tensor is undefined");
  GL_CHECK(!has_internal_overlap(*this), "fill_: tensor of shape {} has overlapping elements", shape_);
  kernel(&Backend::fill, device(), "fill_")(*this, value);
  bump_version();
  return *this;
}

Tensor& Tensor::mul_(double value) {
  GL_CHECK(defined(), "mul_: tensor is undefined");
  GL_CHECK(!has_internal_overlap(*this), "mul_: tensor of shape {} has overlapping elements", shape_);
  // Each element is read and written at the same place, so the binary kernel may write over its input.
  kernel(&Backend::binary, device(), "mul_")(BinaryOp::mul, *this, scalar(value, dtype(), device()).expand(shape_),
                                             *this);
  bump_version();
  return *this;
}

// ---------------------------------------------------------------- host values

template <class T>
T Tensor::item() const {
  GL_CHECK(numel() == 1, "item: tensor of shape {} has {} elements, not 1", shape_, numel());
  const Tensor host = dtype_ == DType::bf16 ? to(Device::cpu).to(DType::f32) : to(Device::cpu);
  return dispatch_all(host.dtype(), "item", [&](auto tag) {
    using S = decltype(tag);
    return static_cast<T>(*static_cast<const S*>(host.data_ptr()));
  });
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  const Tensor host = to(Device::cpu).to(dtype_of<T>()).contiguous();
  const T* p = static_cast<const T*>(host.data_ptr());
  return std::vector<T>(p, p + numel());
}

template double Tensor::item<double>() const;
template float Tensor::item<float>() const;
template int64_t Tensor::item<int64_t>() const;
template int32_t Tensor::item<int32_t>() const;
template bool Tensor::item<bool>() const;
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

std::string Tensor::to_string() const { return fmt::format("{}", *this); }

// ---------------------------------------------------------------- shapes

bool try_broadcast(const Shape& a, const Shape& b, Shape& out) {
  const int n = std::max(a.size(), b.size());
  out.resize(n);
  for (int i = 0; i < n; ++i) {
    const int ia = i - (n - a.size()), ib = i - (n - b.size());
    const int64_t sa = ia >= 0 ? a[ia] : 1;
    const int64_t sb = ib >= 0 ? b[ib] : 1;
    if (sa != sb && sa != 1 && sb != 1) return false;
    out[i] = sa == 1 ? sb : sa;
  }
  return true;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  Shape out;
  GL_CHECK(try_broadcast(a, b, out), "{}: shapes {} and {} do not broadcast", op, a, b);
  return out;
}

}  // namespace gradlab
