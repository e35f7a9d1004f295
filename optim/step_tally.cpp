// StepTally (optim/step_tally.h): per-step sums and finite checks, read once.
#include "optim/step_tally.h"

#include <cmath>
#include <algorithm>
#include <limits>
#include <utility>

#include "optim/finite.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::optim {

namespace {

constexpr double kNone = std::numeric_limits<double>::infinity();  // "no bad step yet"

// A one-element tensor as an f64 scalar on its device.
Tensor as_f64_scalar(const Tensor& value, const std::string& where) {
  GL_CHECK(value.defined() && value.numel() == 1, "{}: StepTally takes one-element tensors, got shape {}", where,
           value.defined() ? value.shape() : Shape{});
  return value.to(DType::f64).reshape({});
}

}  // namespace

StepTally::StepTally(std::string where, Device device, int sums)
    : where_(std::move(where)), device_(device), sums_(size_t(std::max(sums, 0)), 0.0) {
  GL_CHECK(sums >= 0, "{}: StepTally: the number of sums must be >= 0, got {}", where_, sums);
  if (device_ != Device::cpu) {
    for (int i = 0; i < sums; ++i) device_sums_.push_back(zeros({}, DType::f64, device_));
    first_bad_step_ = full({}, kNone, DType::f64, device_);
    bad_value_ = zeros({}, DType::f64, device_);
  }
}

void StepTally::check_finite(const Var& loss, int64_t step) {
  if (device_ == Device::cpu) {
    check_finite_loss(loss, where_, step);
    return;
  }
  GL_CHECK(loss.numel() == 1, "{}: the loss must be a scalar, got shape {}", where_, loss.shape());
  GL_CHECK(loss.device() == device_, "{}: the loss is on {}, the tally on {}", where_, device_name(loss.device()),
           device_name(device_));
  NoGradGuard no_grad;
  const Tensor v = as_f64_scalar(loss.value(), where_);
  // The first step whose loss is NaN or infinite (NaN compares false), and that loss.
  const Tensor first = mul(gradlab::add(ge(abs(v), HUGE_VAL).to(DType::f64), ne(v, v).to(DType::f64)),
                           eq(first_bad_step_, kNone).to(DType::f64));
  const Tensor is_first = gt(first, 0.0);
  first_bad_step_ = where(is_first, full({}, double(step), DType::f64, device_), first_bad_step_);
  bad_value_ = where(is_first, v, bad_value_);
  ++pending_;
}

void StepTally::add(int i, const Tensor& value, double scale, double divisor) {
  GL_CHECK(i >= 0 && size_t(i) < sums_.size(), "{}: StepTally has {} sums, got index {}", where_, sums_.size(), i);
  if (device_ == Device::cpu) {
    sums_[size_t(i)] += value.item() * scale / divisor;
    return;
  }
  GL_CHECK(value.device() == device_, "{}: a value on {}, the tally on {}", where_, device_name(value.device()),
           device_name(device_));
  Tensor v = as_f64_scalar(value, where_);
  if (scale != 1) v = mul(v, scale);
  if (divisor != 1) v = div(v, divisor);
  device_sums_[size_t(i)] = gradlab::add(device_sums_[size_t(i)], v);
  ++pending_;
}

void StepTally::record(const Tensor& value) {
  if (device_ == Device::cpu) {
    recorded_.push_back(value.item());
    return;
  }
  GL_CHECK(value.device() == device_, "{}: a value on {}, the tally on {}", where_, device_name(value.device()),
           device_name(device_));
  device_series_.push_back(as_f64_scalar(value, where_));
  ++pending_;
}

void StepTally::read() {
  if (device_ == Device::cpu || pending_ == 0) return;
  // One tensor: the bad step and its loss, the sums, then the series.
  std::vector<Tensor> parts{first_bad_step_, bad_value_};
  parts.insert(parts.end(), device_sums_.begin(), device_sums_.end());
  parts.insert(parts.end(), device_series_.begin(), device_series_.end());
  const std::vector<double> host = stack(parts).to_vector<double>();
  pending_ = 0;
  const size_t n_sums = device_sums_.size();
  for (size_t i = 0; i < n_sums; ++i) sums_[i] = host[2 + i];  // the device keeps summing, in order
  recorded_.insert(recorded_.end(), host.begin() + std::ptrdiff_t(2 + n_sums), host.end());
  device_series_.clear();
  if (host[0] != kNone) {
    first_bad_step_ = full({}, kNone, DType::f64, device_);
    GL_CHECK(false, "{}: the loss is {} at step {}; lower the learning rate or check the inputs", where_, host[1],
             int64_t(host[0]));
  }
}

double StepTally::sum(int i) const {
  GL_CHECK(i >= 0 && size_t(i) < sums_.size(), "{}: StepTally has {} sums, got index {}", where_, sums_.size(), i);
  GL_CHECK(pending_ == 0, "{}: StepTally::sum before read(): {} numbers are still on the device", where_, pending_);
  return sums_[size_t(i)];
}

std::vector<double> StepTally::take_recorded() {
  GL_CHECK(pending_ == 0, "{}: StepTally::take_recorded before read(): {} numbers are still on the device", where_,
           pending_);
  return std::exchange(recorded_, {});
}

void StepTally::reset_sums() {
  GL_CHECK(pending_ == 0, "{}: StepTally::reset_sums before read(): {} numbers are still on the device", where_,
           pending_);
  std::fill(sums_.begin(), sums_.end(), 0.0);
  for (Tensor& s : device_sums_) s = zeros({}, DType::f64, device_);
}

}  // namespace gradlab::optim
