// What a training loop adds up over its steps (losses, accuracies, clip
// fractions) and the check that its losses are finite, kept where the
// numbers are, so that a loop on a device does not wait for the device at
// every step.
//
// On the CPU a read costs nothing: each number is read as it comes, summed in
// a host double, and a loss that is not finite throws at once, before its
// backward pass (check_finite_loss). On a device the sums are f64 tensors
// there, the finite check is recorded there, and read() brings everything
// back in one copy and throws then, naming the first bad step. The device's
// sums are the same IEEE double operations in the same order as the CPU's.
//
//   optim::StepTally tally("DPO", policy.device(), 3);
//   for (...) {
//     tally.check_finite(loss, step);        // before loss.backward()
//     ...
//     tally.add(0, loss.value(), double(n));  // sum_0 += loss * n
//   }
//   tally.read();                             // one host synchronisation
//   double mean_loss = tally.sum(0) / N;
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/var.h"

namespace gradlab::optim {

class StepTally {
 public:
  // `where` names the loop in errors; `sums` running sums, numbered 0..sums-1.
  StepTally(std::string where, Device device, int sums = 0);

  // The loss of `step` (a scalar), before its backward pass.
  void check_finite(const Var& loss, int64_t step);
  // sum_i += value * scale / divisor, in double; value holds one element.
  void add(int i, const Tensor& value, double scale = 1, double divisor = 1);
  // Appends value (one element) to the recorded series (a loss per step).
  void record(const Tensor& value);

  // Brings the sums, the recorded values and the finite check to the host:
  // one copy on a device, nothing on the CPU. Throws gradlab::Error "WHERE:
  // the loss is nan at step N; ..." if a checked loss was not finite.
  void read();
  // Numbers added or recorded on the device since the last read().
  int64_t pending() const { return pending_; }

  // After read(): sum i, and the recorded values (taken: the series restarts).
  double sum(int i) const;
  std::vector<double> take_recorded();
  // Sets every sum to 0 (after read()).
  void reset_sums();

 private:
  std::string where_;
  Device device_;
  std::vector<double> sums_;          // host sums (on a device: as last read)
  std::vector<double> recorded_;      // host series (on a device: the values read)
  std::vector<Tensor> device_sums_;   // f64 [] on the device, one per sum
  std::vector<Tensor> device_series_; // f64 [] on the device, not yet read
  Tensor first_bad_step_, bad_value_; // f64 [] on the device: +inf / 0 while every loss is finite
  int64_t pending_ = 0;
};

}  // namespace gradlab::optim
