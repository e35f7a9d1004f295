// How a reduction over any set of axes becomes a few [outer, R, inner] ones,
// the shape every backend's reduce kernel handles (tensor/cpu/reduce.cpp,
// tensor/cuda/reduce.cu, tensor/ref/). The axes of the contiguous input are
// grouped into alternating runs of kept and reduced axes (size-1 axes vanish);
// each reduced run, innermost first, is one step that folds its R entries.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tensor/shape.h"

namespace gradlab {

struct ReduceStep {
  int64_t outer, R, inner;  // out[o, i] = fold over r of in[o, r, i]
  bool last;                // this step writes the final result
};

// The steps for `axes` of a contiguous tensor of `shape`, in order; each step
// reads the previous one's output (the input first). Empty when every reduced
// axis has size 1: the result is then a copy.
std::vector<ReduceStep> reduce_steps(const Shape& shape, std::span<const int> axes);

}  // namespace gradlab
