// CPU fused Adam(W) step: every parameter of the list, with its gradient and
// its moments m and v, updated in one parallel pass over the total element
// count. Each thread's range is mapped back to the tensors it covers; each
// tensor's slice is one plain loop that the compiler vectorises.
#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/parallel.h"

namespace gradlab::cpu {

namespace {

// One tensor of the list: where its elements start in the concatenated range.
struct Segment {
  int64_t start, numel;
  bool f64;
  void *p, *m, *v;
  const void* g;
};

// The per-step scalars of the update, in the parameter's element type.
template <class T>
struct Coefficients {
  T keep;  // p *= keep: 1 - lr wd for AdamW, 1 for Adam
  T l2;    // g += l2 p: wd for Adam, 0 for AdamW
  T beta1, one_minus_beta1, beta2, one_minus_beta2;
  T step_size;     // lr / (1 - beta1^t)
  T inv_sqrt_bc2;  // 1 / sqrt(1 - beta2^t)
  T eps;
};

template <class T>
Coefficients<T> coefficients(const Backend::AdamHyperparams& h) {
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

// Elements [lo, hi) of one tensor: p, m, v in place from g.
template <class T>
void adam_slice(const Segment& s, int64_t lo, int64_t hi, const Coefficients<T>& c) {
  T* p = static_cast<T*>(s.p);
  T* m = static_cast<T*>(s.m);
  T* v = static_cast<T*>(s.v);
  const T* g = static_cast<const T*>(s.g);
  const Coefficients<T> k = c;  // locals, so stores through p, m, v cannot change them
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) {
    const T pi = p[i] * k.keep;
    const T gi = g[i] + k.l2 * pi;
    const T mi = k.beta1 * m[i] + k.one_minus_beta1 * gi;
    const T vi = k.beta2 * v[i] + k.one_minus_beta2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - k.step_size * mi / (std::sqrt(vi) * k.inv_sqrt_bc2 + k.eps);
  }
}

}  // namespace

void adam_step(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
               std::span<const Tensor> v, const Backend::AdamHyperparams& h) {
  // Everything that could throw (dtype checks in data<T>()) happens here,
  // before the parallel region.
  std::vector<Segment> segments;
  int64_t total = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const int64_t n = params[i].numel();
    if (n == 0) continue;
    segments.push_back({total, n, params[i].dtype() == DType::f64, params[i].data_ptr(), m[i].data_ptr(),
                        v[i].data_ptr(), grads[i].data_ptr()});
    total += n;
  }
  if (segments.empty()) return;
  const Coefficients<float> cf = coefficients<float>(h);
  const Coefficients<double> cd = coefficients<double>(h);
  parallel_for(total, kGrainTranscendental, [&](int64_t begin, int64_t end) {
    // The last segment starting at or before `begin`.
    auto it = std::upper_bound(segments.begin(), segments.end(), begin,
                               [](int64_t x, const Segment& s) { return x < s.start; });
    for (--it; begin < end; ++it) {
      const int64_t lo = begin - it->start, hi = std::min(end, it->start + it->numel) - it->start;
      if (it->f64)
        adam_slice<double>(*it, lo, hi, cd);
      else
        adam_slice<float>(*it, lo, hi, cf);
      begin = it->start + hi;
    }
  });
}

}  // namespace gradlab::cpu
