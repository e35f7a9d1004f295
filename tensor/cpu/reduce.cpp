// CPU reductions: sum, max, min over any set of axes, and argmax/argmin along
// one. The input is made contiguous and its axes grouped into alternating runs
// of kept and reduced axes; each reduced run is then one [outer, R, inner]
// reduction. Two loop shapes cover everything: inner == 1 reduces contiguous
// rows with several independent accumulators (vectorised); inner > 1 folds
// rows of R into a tile of accumulators (vectorised across inner). f32 sums
// accumulate in f64. Also sum_squares, whose order is the full reduction's.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/kernels.h"
#include "tensor/cpu/row_reduce.h"
#include "tensor/parallel.h"
#include "tensor/reduce_steps.h"
#include "tensor/sum_squares_passes.h"

namespace gradlab::cpu {

namespace {

// out[o, i] = reduce over r of x[o, r, i], for a contiguous [outer, R, inner] x.
template <class T, class Op>
void reduce_run(const T* x, T* out, int64_t outer, int64_t R, int64_t inner) {
  using Acc = typename Op::Acc;
  if (inner == 1) {
    if (outer == 1 && R > kGrainElementwise && num_threads() > 1) {
      // One long row: a partial per thread, combined in thread order.
      std::vector<Acc> partial(static_cast<size_t>(num_threads()), Op::init());
      parallel_for(R, kGrainElementwise, [&](int64_t b, int64_t e) {
        partial[size_t(omp_get_thread_num())] = reduce_row<T, Op>(x + b, e - b);
      });
      Acc total = Op::init();
      for (Acc p : partial) total = Op::combine(total, p);
      out[0] = T(total);
      return;
    }
    const int64_t grain = std::max<int64_t>(1, kGrainElementwise / std::max<int64_t>(R, 1));
    parallel_for(outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) out[o] = T(reduce_row<T, Op>(x + o * R, R));
    });
    return;
  }
  // inner > 1: fold rows into a tile of accumulators.
  constexpr int64_t kTile = 256;
  const int64_t tiles = (inner + kTile - 1) / kTile;
  const int64_t grain = std::max<int64_t>(1, kGrainElementwise / std::max<int64_t>(R * std::min(inner, kTile), 1));
  parallel_for(outer * tiles, grain, [&](int64_t b, int64_t e) {
    Acc acc[kTile];
    for (int64_t job = b; job < e; ++job) {
      const int64_t o = job / tiles, i0 = (job % tiles) * kTile;
      const int64_t w = std::min(kTile, inner - i0);
      for (int64_t i = 0; i < w; ++i) acc[i] = Op::init();
      const T* base = x + o * R * inner + i0;
      for (int64_t r = 0; r < R; ++r) {
        const T* row = base + r * inner;
        for (int64_t i = 0; i < w; ++i) acc[i] = Op::combine(acc[i], Acc(row[i]));
      }
      T* dst = out + o * inner + i0;
      for (int64_t i = 0; i < w; ++i) dst[i] = T(acc[i]);
    }
  });
}

template <class T>
void reduce_run_op(ReduceOp op, const T* x, T* out, int64_t outer, int64_t R, int64_t inner) {
  switch (op) {
    case ReduceOp::sum: return reduce_run<T, SumOp<T>>(x, out, outer, R, inner);
    case ReduceOp::max: return reduce_run<T, MaxOp<T>>(x, out, outer, R, inner);
    case ReduceOp::min: return reduce_run<T, MinOp<T>>(x, out, outer, R, inner);
  }
}

}  // namespace

void reduce(ReduceOp op, const Tensor& x_in, std::span<const int> axes, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  dispatch_numeric(x.dtype(), "reduce", [&](auto tag) {
    using T = decltype(tag);
    run_reduce_steps(x, axes, out, [&](const ReduceStep& s, const Tensor& src, const Tensor& dst) {
      reduce_run_op<T>(op, src.data<T>(), dst.data<T>(), s.outer, s.R, s.inner);
    });
  });
}

namespace {

// reduce_row<double, SumOp<double>> over the squares of x[0, n): the same
// lanes, tail and tree. The square of an f32 is exact in f64, so squaring each
// element as it is read (even fused into an FMA) gives what summing the
// squares of an f64 copy gives, bit for bit.
double squares_row(const float* x, int64_t n) {
  constexpr int kLanes = 16;
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double v = x[i + j];
      acc[j] += v * v;
    }
  for (; i < n; ++i) {
    const double v = x[i];
    acc[0] += v * v;
  }
  for (int w = kLanes / 2; w > 0; w /= 2)
    for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
  return acc[0];
}

// reduce_run's [1, R, 1] sum (the plan of a whole contiguous tensor), over squares.
double squares_run(const float* x, int64_t R) {
  if (R > kGrainElementwise && num_threads() > 1) {
    std::vector<double> partial(static_cast<size_t>(num_threads()), 0.0);
    parallel_for(R, kGrainElementwise,
                 [&](int64_t b, int64_t e) { partial[size_t(omp_get_thread_num())] = squares_row(x + b, e - b); });
    double total = 0;
    for (double p : partial) total += p;
    return total;
  }
  return squares_row(x, R);
}

}  // namespace

// f32 tensors in one fused pass each (no f64 copy); f64 ones as the passes of
// the composite (tensor/sum_squares_passes.h), whose bits both keep.
void sum_squares(std::span<const Tensor> xs, const Tensor& out) {
  double total = 0;
  for (const Tensor& x : xs) {
    if (x.dtype() == DType::f32) {
      total += x.numel() == 0 ? 0.0 : squares_run(x.data<float>(), x.numel());
    } else {
      const Tensor one = Tensor::empty({}, DType::f64, Device::cpu);
      sum_squares_by_passes(std::span<const Tensor>(&x, 1), one);
      total += one.data<double>()[0];
    }
  }
  out.data<double>()[0] = total;
}

void arg_reduce(ArgReduceOp op, const Tensor& x_in, int axis, const Tensor& out) {
  const Tensor x = x_in.contiguous();
  const AxisSplit s = split_at_axis(x.shape(), axis);
  int64_t* dst = out.data<int64_t>();
  const bool want_max = op == ArgReduceOp::argmax;
  dispatch_numeric(x.dtype(), "argmax", [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    // NaN wins, as in max; among equals the first index wins.
    auto better = [want_max](T v, T best) {
      if (v != v) return !(best != best);
      return want_max ? v > best : v < best;
    };
    parallel_for(s.outer * s.inner, std::max<int64_t>(1, kGrainElementwise / std::max<int64_t>(s.n, 1)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t job = b; job < e; ++job) {
                     const int64_t o = job / s.inner, i = job % s.inner;
                     const T* p = src + o * s.n * s.inner + i;
                     T best = p[0];
                     int64_t arg = 0;
                     for (int64_t r = 1; r < s.n; ++r)
                       if (better(p[r * s.inner], best)) best = p[r * s.inner], arg = r;
                     dst[job] = arg;
                   }
                 });
  });
}

}  // namespace gradlab::cpu
