// The reference backend's layer norm kernels: the teaching loops of
// layer_norm.h (two-pass variance, every sum in double) called on the
// tensors' data. The op's entry hands over x, dy, mean and rstd contiguous
// ([rows, C] and [rows]), weight and bias contiguous [C] or undefined.
#include "tensor/ref/kernels.h"
#include "tensor/ref/layer_norm.h"

namespace gradlab::ref {

namespace {
template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.host_data<T>() : nullptr;
}
}  // namespace

// y [rows, C], mean and rstd [rows] from x [rows, C].
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd) {
  const int64_t C = x.shape().back(), rows = x.numel() / C;
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_forward<T>(x.host_data<T>(), data_or_null<T>(weight), data_or_null<T>(bias), eps, rows, C,
                          y.host_data<T>(), mean.host_data<T>(), rstd.host_data<T>());
  });
}

// sum = x + r by the binary add kernel, then the norm of sum.
void add_layer_norm(const Tensor& x, const Tensor& r, const Tensor& weight, const Tensor& bias, double eps,
                    const Tensor& sum, const Tensor& y, const Tensor& mean, const Tensor& rstd) {
  binary(BinaryOp::add, x, r, sum);
  layer_norm(sum, weight, bias, eps, y, mean, rstd);
}

// dx [rows, C], dweight and dbias [C] from dy, x and the forward's mean and rstd.
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const int64_t C = x.shape().back(), rows = x.numel() / C;
  dispatch_float(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_backward<T>(dy.host_data<T>(), x.host_data<T>(), data_or_null<T>(weight), mean.host_data<T>(),
                           rstd.host_data<T>(), rows, C, dx.host_data<T>(), dweight.host_data<T>(),
                           dbias.host_data<T>());
  });
}

}  // namespace gradlab::ref
