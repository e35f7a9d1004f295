// The learning-rate multipliers of optim/schedule.h: argument checks at
// construction, and the formulas, which every schedule with a warm-up shares.
#include "optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/error.h"

namespace gradlab::optim {

namespace {

void check_step(int64_t step, const char* name) { GL_CHECK(step >= 0, "{}: step must be >= 0, got {}", name, step); }

void check_warmup_total(int64_t warmup_steps, int64_t total_steps, const char* name) {
  GL_CHECK(warmup_steps >= 0, "{}: warmup_steps must be >= 0, got {}", name, warmup_steps);
  GL_CHECK(total_steps > warmup_steps, "{}: total_steps ({}) must be greater than warmup_steps ({})", name, total_steps,
           warmup_steps);
}

// The warm-up ramp (s + 1) / warmup_steps, for s < warmup_steps.
double warmup(int64_t step, int64_t warmup_steps) { return double(step + 1) / double(warmup_steps); }

// How far step is from the end of the warm-up to total_steps, in [0, 1].
double progress(int64_t step, int64_t warmup_steps, int64_t total_steps) {
  return std::min(1.0, double(step - warmup_steps) / double(total_steps - warmup_steps));
}

}  // namespace

double ConstantSchedule::operator()(int64_t step) const {
  check_step(step, "ConstantSchedule");
  return 1.0;
}

LinearWarmup::LinearWarmup(int64_t warmup_steps) : warmup_steps(warmup_steps) {
  GL_CHECK(warmup_steps >= 0, "LinearWarmup: warmup_steps must be >= 0, got {}", warmup_steps);
}

double LinearWarmup::operator()(int64_t step) const {
  check_step(step, "LinearWarmup");
  return step < warmup_steps ? warmup(step, warmup_steps) : 1.0;
}

CosineWithWarmup::CosineWithWarmup(int64_t warmup_steps, int64_t total_steps, double floor_ratio)
    : warmup_steps(warmup_steps), total_steps(total_steps), floor_ratio(floor_ratio) {
  check_warmup_total(warmup_steps, total_steps, "CosineWithWarmup");
  GL_CHECK(floor_ratio >= 0 && floor_ratio <= 1, "CosineWithWarmup: floor_ratio must be in [0, 1], got {}",
           floor_ratio);
}

double CosineWithWarmup::operator()(int64_t step) const {
  check_step(step, "CosineWithWarmup");
  if (step < warmup_steps) return warmup(step, warmup_steps);
  const double p = progress(step, warmup_steps, total_steps);
  return floor_ratio + (1.0 - floor_ratio) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
}

LinearDecay::LinearDecay(int64_t total_steps, double end_ratio, int64_t warmup_steps)
    : total_steps(total_steps), end_ratio(end_ratio), warmup_steps(warmup_steps) {
  check_warmup_total(warmup_steps, total_steps, "LinearDecay");
  GL_CHECK(std::isfinite(end_ratio) && end_ratio >= 0, "LinearDecay: end_ratio must be finite and >= 0, got {}",
           end_ratio);
}

double LinearDecay::operator()(int64_t step) const {
  check_step(step, "LinearDecay");
  if (step < warmup_steps) return warmup(step, warmup_steps);
  return 1.0 + (end_ratio - 1.0) * progress(step, warmup_steps, total_steps);
}

}  // namespace gradlab::optim
