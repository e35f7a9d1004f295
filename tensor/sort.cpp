// Entries of sort, argsort and topk.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gradlab {

ValuesIndices sort(const Tensor& x, int64_t axis, bool descending) {
  GL_CHECK(x.defined(), "sort: tensor is undefined");
  GL_CHECK(x.dtype() != DType::b8, "sort: not defined for b8 masks");
  if (x.dim() == 0) return {x.clone(), zeros({}, DType::i64, x.device())};
  const int a = wrap_axis(axis, x.dim(), "sort");
  ValuesIndices r{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(x.shape(), DType::i64, x.device())};
  if (x.numel() > 0) kernel(&Backend::sort, x.device(), "sort")(x, a, descending, r.values, r.indices);
  return r;
}

Tensor argsort(const Tensor& x, int64_t axis, bool descending) { return sort(x, axis, descending).indices; }

ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis, bool largest) {
  GL_CHECK(x.defined(), "topk: tensor is undefined");
  GL_CHECK(x.dtype() != DType::b8, "topk: not defined for b8 masks");
  GL_CHECK(x.dim() > 0, "topk: needs a tensor with at least one axis");
  const int a = wrap_axis(axis, x.dim(), "topk");
  GL_CHECK(k >= 0 && k <= x.shape()[a], "topk: k = {} is outside [0, {}] for axis {} of shape {}", k, x.shape()[a], a,
           x.shape());
  Shape shape = x.shape();
  shape[a] = k;
  ValuesIndices r{Tensor::empty(shape, x.dtype(), x.device()), Tensor::empty(shape, DType::i64, x.device())};
  if (r.values.numel() > 0) kernel(&Backend::topk, x.device(), "topk")(x, k, a, largest, r.values, r.indices);
  return r;
}

}  // namespace gradlab
