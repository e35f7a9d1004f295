// The arithmetic of one Adam(W) step, shared by every backend's fused kernel
// (tensor/cpu/optim.cpp, tensor/cuda/optim.cu, tensor/ref/): the step's scalars
// computed once in double and rounded to the parameter's type, and the update
// of one element. tensor/optim_kernels.h states the formulas.
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/host_device.h"

namespace gradlab {

// The scalars of one Adam step.
struct AdamHyperparams {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW: p *= 1 - lr wd first; Adam: g += wd p (L2)
  int64_t step;    // t >= 1, for the bias corrections 1 - beta^t
};

// The per-step scalars of the update, in the parameter's element type.
template <class T>
struct AdamCoefficients {
  T keep;  // p *= keep: 1 - lr wd for AdamW, 1 for Adam
  T l2;    // g += l2 p: wd for Adam, 0 for AdamW
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T step_size;     // lr / (1 - beta1^t)
  T inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
  T eps;
};

template <class T>
AdamCoefficients<T> adam_coefficients(const AdamHyperparams& h) {
  const double t = double(h.step);
  const double bc1 = 1.0 - std::pow(h.beta1, t), bc2 = 1.0 - std::pow(h.beta2, t);
  return {T(h.decoupled ? 1.0 - h.lr * h.weight_decay : 1.0),
          T(h.decoupled ? 0.0 : h.weight_decay),
          T(h.beta1),
          T(1.0 - h.beta1),
          T(h.beta2),
          T(1.0 - h.beta2),
          T(h.lr / bc1),
          T(1.0 / std::sqrt(bc2)),
          T(h.eps)};
}

// One element: p, m, v in place from the gradient g.
template <class T>
GL_HD void adam_update(T& p, T& m, T& v, T g, const AdamCoefficients<T>& k) {
  const T pi = p * k.keep;                                 // AdamW: decoupled decay
  const T gi = g + k.l2 * pi;                              // Adam: L2 in the gradient
  const T mi = k.beta1 * m + k.one_minus_beta1 * gi;       // first moment
  const T vi = k.beta2 * v + k.one_minus_beta2 * gi * gi;  // second moment
  m = mi;
  v = vi;
#ifdef __CUDA_ARCH__
  const T root = ::sqrt(vi);  // CUDA's overload for T
#else
  const T root = std::sqrt(vi);
#endif
  p = pi - k.step_size * mi / (root * k.inv_sqrt_bc2 + k.eps);  // bias-corrected step
}

}  // namespace gradlab
