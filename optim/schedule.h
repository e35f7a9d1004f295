// Learning-rate schedules as multipliers of a base rate: m(s), where s is the
// number of optimiser steps taken before the step it is used for (0 first).
//   opt.set_lr(base_lr * schedule(opt.step_count()));  opt.step();
// Each schedule is a small callable struct; Schedule holds any of them.
#pragma once

#include <cstdint>
#include <functional>

namespace gradlab::optim {

using Schedule = std::function<double(int64_t step)>;

// m(s) = 1.
struct ConstantSchedule {
  double operator()(int64_t step) const;
};

// m(s) = (s + 1) / warmup_steps for s < warmup_steps, then 1: the first step
// already moves (by 1 / warmup_steps) and step warmup_steps - 1 reaches 1.
// warmup_steps >= 0 (0: constant).
struct LinearWarmup {
  explicit LinearWarmup(int64_t warmup_steps);
  double operator()(int64_t step) const;
  int64_t warmup_steps;
};

// Linear warm-up as above, then a cosine from 1 down to floor_ratio at
// total_steps, and floor_ratio after it:
//   p = (s - warmup_steps) / (total_steps - warmup_steps)
//   m(s) = floor_ratio + (1 - floor_ratio) (1 + cos(pi min(p, 1))) / 2
// 0 <= warmup_steps < total_steps, floor_ratio in [0, 1].
struct CosineWithWarmup {
  CosineWithWarmup(int64_t warmup_steps, int64_t total_steps, double floor_ratio = 0.0);
  double operator()(int64_t step) const;
  int64_t warmup_steps, total_steps;
  double floor_ratio;
};

// Linear warm-up as above (none by default), then a straight line from 1 down
// (or up) to end_ratio at total_steps, and end_ratio after it:
//   m(s) = 1 + (end_ratio - 1) min(p, 1),  p as for the cosine
// 0 <= warmup_steps < total_steps, end_ratio >= 0.
struct LinearDecay {
  LinearDecay(int64_t total_steps, double end_ratio = 0.0, int64_t warmup_steps = 0);
  double operator()(int64_t step) const;
  int64_t total_steps;
  double end_ratio;
  int64_t warmup_steps;
};

}  // namespace gradlab::optim
