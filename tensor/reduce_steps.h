// How a reduction over any set of axes becomes a few [outer, R, inner] ones,
// the shape the fast reduce kernels handle (tensor/cpu/reduce.cpp,
// tensor/cuda/reduce.cu; the reference backend loops over the axes directly,
// an independent check of this plan). The axes of the contiguous input are
// grouped into alternating runs of kept and reduced axes (size-1 axes vanish);
// each reduced run, innermost first, is one step that folds its R entries.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tensor/backend.h"
#include "tensor/shape.h"
#include "tensor/tensor.h"

namespace gradlab {

struct ReduceStep {
  int64_t outer, R, inner;  // out[o, i] = fold over r of in[o, r, i]
  bool last;                // this step writes the final result
};

// The steps for `axes` of a contiguous tensor of `shape`, in order; each step
// reads the previous one's output (the input first). Empty when every reduced
// axis has size 1: the result is then a copy.
std::vector<ReduceStep> reduce_steps(const Shape& shape, std::span<const int> axes);

// Runs the reduction of a contiguous x over `axes` into out, both on one
// backend, as the plan's steps: pass(step, src, dst) folds one step from src
// into dst, where dst is `out` for the last step and a scratch tensor of
// outer * inner elements on x's device before it. The backend's cpu and cuda
// reduce kernels share this driver and differ only in `pass`. An empty x
// (only sum gets here) gives zeros; a plan without steps copies x.
template <class Pass>
void run_reduce_steps(const Tensor& x, std::span<const int> axes, const Tensor& out, Pass&& pass) {
  const std::vector<ReduceStep> steps = reduce_steps(x.shape(), axes);
  const Backend& be = backend(x.device());
  if (x.numel() == 0) return be.fill(out, 0.0);
  if (steps.empty()) return be.copy(x, out);
  Tensor src = x;
  for (const ReduceStep& s : steps) {
    Tensor dst = s.last ? out : Tensor::empty({s.outer * s.inner}, x.dtype(), x.device());
    pass(s, src, dst);
    src = dst;
  }
}

}  // namespace gradlab
