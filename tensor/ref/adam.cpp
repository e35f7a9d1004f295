// Reference Adam(W) step: the element update every backend shares
// (tensor/adam_math.h; tensor/optim_kernels.h states the formulas), run in
// double with the step's scalars in double, then rounded once into each of p,
// m and v. The CPU runs the same update in the parameter's type, with its
// scalars rounded to it.
#include "tensor/adam_math.h"
#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

void adam_step(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
               std::span<const Tensor> v, const AdamHyperparams& h) {
  const AdamCoefficients<double> k = adam_coefficients<double>(h);
  for (size_t t = 0; t < params.size(); ++t) {
    dispatch_float(params[t].dtype(), "adam_step", [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < params[t].numel(); ++i) {
        double p = at<T>(params[t], i), mi = at<T>(m[t], i), vi = at<T>(v[t], i);
        adam_update<double>(p, mi, vi, at<T>(grads[t], i), k);
        at<T>(params[t], i) = T(p);
        at<T>(m[t], i) = T(mi);
        at<T>(v[t], i) = T(vi);
      }
    });
  }
}

}  // namespace gradlab::ref
