// concat, stack and split: joining tensors along an axis by copying each into
// a slice of the result, and splitting one into views.
#include "tensor/ops.h"

namespace gradlab {

Tensor concat(const std::vector<Tensor>& xs, int64_t axis) {
  GL_CHECK(!xs.empty(), "concat: needs at least one tensor");
  const Tensor& first = xs[0];
  GL_CHECK(first.defined(), "concat: tensor 0 is undefined");
  GL_CHECK(first.dim() > 0, "concat: cannot join 0-d tensors (use stack)");
  const int a = wrap_axis(axis, first.dim(), "concat");
  Shape shape = first.shape();
  shape[a] = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& x = xs[k];
    GL_CHECK(x.defined(), "concat: tensor {} is undefined", k);
    GL_CHECK(x.dtype() == first.dtype() && x.device() == first.device(),
             "concat: tensor {} is {} on {}, tensor 0 is {} on {}", k, x.dtype(), x.device(), first.dtype(),
             first.device());
    bool same = x.dim() == first.dim();
    for (int d = 0; same && d < x.dim(); ++d) same = d == a || x.shape()[d] == first.shape()[d];
    GL_CHECK(same, "concat: tensor {} has shape {}, which does not match {} off axis {}", k, x.shape(), first.shape(),
             a);
    shape[a] += x.shape()[a];
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  int64_t at = 0;
  for (const Tensor& x : xs) {
    const int64_t n = x.shape()[a];
    if (n > 0 && x.numel() > 0) out.narrow(a, at, n).copy_(x);
    at += n;
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  GL_CHECK(!xs.empty(), "stack: needs at least one tensor");
  GL_CHECK(xs[0].defined(), "stack: tensor 0 is undefined");
  const int a = wrap_axis(axis, xs[0].dim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (size_t k = 0; k < xs.size(); ++k) {
    GL_CHECK(xs[k].defined() && xs[k].shape() == xs[0].shape(), "stack: tensor {} has shape {}, tensor 0 has {}", k,
             xs[k].defined() ? xs[k].shape() : Shape{}, xs[0].shape());
    expanded.push_back(xs[k].unsqueeze(a));
  }
  return concat(expanded, a);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  GL_CHECK(x.defined(), "split: tensor is undefined");
  const int a = wrap_axis(axis, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    GL_CHECK(s >= 0, "split: negative size {}", s);
    total += s;
  }
  GL_CHECK(total == x.shape()[a], "split: sizes add up to {}, but axis {} of shape {} has {}", total, a, x.shape(),
           x.shape()[a]);
  std::vector<Tensor> parts;
  int64_t at = 0;
  for (int64_t s : sizes) {
    parts.push_back(x.narrow(a, at, s));
    at += s;
  }
  return parts;
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t axis) {
  GL_CHECK(x.defined(), "split: tensor is undefined");
  GL_CHECK(size > 0, "split: piece size must be positive, got {}", size);
  const int a = wrap_axis(axis, x.dim(), "split");
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < x.shape()[a]; at += size) sizes.push_back(std::min(size, x.shape()[a] - at));
  return split(x, sizes, a);
}

}  // namespace gradlab
