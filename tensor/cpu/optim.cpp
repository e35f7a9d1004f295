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

// Elements [lo, hi) of one tensor: p, m, v in place from g.
template <class T>
void adam_slice(const Segment& s, int64_t lo, int64_t hi, const AdamCoefficients<T>& c) {
  T* p = static_cast<T*>(s.p);
  T* m = static_cast<T*>(s.m);
  T* v = static_cast<T*>(s.v);
  const T* g = static_cast<const T*>(s.g);
  const AdamCoefficients<T> k = c;  // locals, so stores through p, m, v cannot change them
#pragma omp simd
  for (int64_t i = lo; i < hi; ++i) adam_update(p[i], m[i], v[i], g[i], k);
}

}  // namespace

void adam_step(std::span<const Tensor> params, std::span<const Tensor> grads, std::span<const Tensor> m,
               std::span<const Tensor> v, const AdamHyperparams& h) {
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
  const AdamCoefficients<float> cf = adam_coefficients<float>(h);
  const AdamCoefficients<double> cd = adam_coefficients<double>(h);
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
