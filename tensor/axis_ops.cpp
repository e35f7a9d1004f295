// Entries of the ops along one axis: softmax, log_softmax, cumsum, gather,
// scatter_add, index_select and one_hot.
#include <fmt/format.h>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gradlab {

namespace {

Tensor softmax_op(const Tensor& x, int64_t axis, bool log, std::string_view name) {
  GL_CHECK(x.defined(), "{}: tensor is undefined", name);
  GL_CHECK(is_floating(x.dtype()), "{}: expected a floating dtype (f32 or f64), got {}", name, x.dtype());
  const int a = wrap_axis(axis, x.dim(), name);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return out;
  if (x.dim() == 0) return log ? zeros_like(x) : ones_like(x);
  kernel(&Backend::softmax, x.device(), name)(x, a, log, out);
  return out;
}

// Index tensors must be i32/i64, share x's rank and device, and not exceed x's
// sizes off the axis.
void check_index_tensor(const Tensor& x, int axis, const Tensor& index, std::string_view op) {
  GL_CHECK(index.defined(), "{}: index is undefined", op);
  GL_CHECK(is_integral(index.dtype()), "{}: indices must be i32 or i64, got {}", op, index.dtype());
  GL_CHECK(index.device() == x.device(), "{}: index is on {} but the tensor is on {}", op, index.device(), x.device());
  GL_CHECK(index.dim() == x.dim(), "{}: index of shape {} must have the rank of the tensor's shape {}", op,
           index.shape(), x.shape());
  for (int d = 0; d < x.dim(); ++d)
    GL_CHECK(d == axis || index.shape()[d] <= x.shape()[d],
             "{}: index of shape {} is larger than the tensor's shape {} off axis {}", op, index.shape(), x.shape(),
             axis);
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_op(x, axis, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_op(x, axis, true, "log_softmax"); }

Tensor cumsum(const Tensor& x, int64_t axis) {
  GL_CHECK(x.defined(), "cumsum: tensor is undefined");
  const int a = wrap_axis(axis, x.dim(), "cumsum");
  const Tensor src = x.dtype() == DType::b8 ? x.to(DType::i64) : x;
  Tensor out = Tensor::empty(src.shape(), src.dtype(), src.device());
  if (x.numel() == 0) return out;
  if (x.dim() == 0) return src.clone();
  kernel(&Backend::cumsum, x.device(), "cumsum")(src, a, out);
  return out;
}

Tensor gather(const Tensor& x, int64_t axis, const Tensor& index) {
  GL_CHECK(x.defined(), "gather: tensor is undefined");
  const int a = wrap_axis(axis, x.dim(), "gather");
  check_index_tensor(x, a, index, "gather");
  Tensor out = Tensor::empty(index.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  GL_CHECK(x.dim() == 0 || x.shape()[a] > 0, "gather: axis {} of shape {} is empty", a, x.shape());
  kernel(&Backend::gather, x.device(), "gather")(x, a, index, out);
  return out;
}

Tensor& scatter_add_(Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
  GL_CHECK(x.defined() && src.defined(), "scatter_add: tensor is undefined");
  const int a = wrap_axis(axis, x.dim(), "scatter_add");
  check_index_tensor(x, a, index, "scatter_add");
  GL_CHECK(src.shape() == index.shape(), "scatter_add: src of shape {} must match index of shape {}", src.shape(),
           index.shape());
  GL_CHECK(src.dtype() == x.dtype(), "scatter_add: src dtype {} differs from the tensor's {}", src.dtype(), x.dtype());
  GL_CHECK(src.device() == x.device(), "scatter_add: src is on {} but the tensor is on {}", src.device(), x.device());
  GL_CHECK(!has_internal_overlap(x), "scatter_add: tensor of shape {} has overlapping elements", x.shape());
  if (index.numel() == 0) return x;
  kernel(&Backend::scatter_add, x.device(), "scatter_add")(x, a, index, src);
  x.bump_version();
  return x;
}

Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
  Tensor out = x.clone();
  scatter_add_(out, axis, index, src);
  return out;
}

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index) {
  GL_CHECK(x.defined() && index.defined(), "index_select: tensor is undefined");
  const int a = wrap_axis(axis, x.dim(), "index_select");
  GL_CHECK(index.dim() <= 1, "index_select: index must be 1-D, got shape {}", index.shape());
  GL_CHECK(is_integral(index.dtype()), "index_select: indices must be i32 or i64, got {}", index.dtype());
  GL_CHECK(index.device() == x.device(), "index_select: index is on {} but the tensor is on {}", index.device(),
           x.device());
  GL_CHECK(x.dim() > 0, "index_select: needs a tensor with at least one axis");
  Shape shape = x.shape();
  shape[a] = index.numel();
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  if (out.numel() == 0 && index.numel() == 0) return out;
  kernel(&Backend::index_select, x.device(), "index_select")(x, a, index.reshape({index.numel()}), out);
  return out;
}

Tensor& index_add_(Tensor& x, int64_t axis, const Tensor& index, const Tensor& src) {
  GL_CHECK(x.defined() && index.defined() && src.defined(), "index_add_: tensor is undefined");
  const int a = wrap_axis(axis, x.dim(), "index_add_");
  GL_CHECK(x.dim() > 0, "index_add_: needs a tensor with at least one axis");
  GL_CHECK(index.dim() <= 1, "index_add_: index must be 1-D, got shape {}", index.shape());
  GL_CHECK(is_integral(index.dtype()), "index_add_: indices must be i32 or i64, got {}", index.dtype());
  Shape want = x.shape();
  want[a] = index.numel();
  GL_CHECK(src.shape() == want,
           "index_add_: src of shape {} should be {} (the tensor's shape with {} entries on axis {})", src.shape(),
           want, index.numel(), a);
  GL_CHECK(src.dtype() == x.dtype(), "index_add_: src dtype {} differs from the tensor's {}", src.dtype(), x.dtype());
  GL_CHECK(src.device() == x.device() && index.device() == x.device(), "index_add_: tensors are on different devices");
  GL_CHECK(x.is_contiguous(), "index_add_: the tensor must be contiguous, got strides {}", x.strides());
  if (index.numel() == 0) return x;
  kernel(&Backend::index_add, x.device(), "index_add_")(x, a, index.reshape({index.numel()}), src);
  x.bump_version();
  return x;
}

Tensor one_hot(const Tensor& index, int64_t num_classes, DType dtype) {
  GL_CHECK(index.defined(), "one_hot: index is undefined");
  GL_CHECK(is_integral(index.dtype()), "one_hot: indices must be i32 or i64, got {}", index.dtype());
  GL_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got {}", num_classes);
  Shape shape = index.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, dtype, index.device());
  const int64_t n = index.numel();
  if (n == 0) return out;
  if (index.device() == Device::cpu) {
    const int64_t lo = min(index).item<int64_t>(), hi = max(index).item<int64_t>();
    GL_CHECK(lo >= 0 && hi < num_classes, "one_hot: index {} is outside [0, {})", lo < 0 ? lo : hi, num_classes);
  } else {  // counted on the device, not read back (tensor/backend.h: check_none_bad)
    const Tensor bad = add(sum(lt(index, 0.0).to(DType::i64)), sum(ge(index, double(num_classes)).to(DType::i64)));
    check_none_bad(bad, fmt::format("one_hot: indices outside [0, {})", num_classes));
  }
  Tensor rows = out.view({n, num_classes});
  scatter_add_(rows, 1, index.reshape({n, 1}), ones({n, 1}, dtype, index.device()));
  return out;
}

}  // namespace gradlab
