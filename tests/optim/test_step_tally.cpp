// StepTally: the sums and series a training loop keeps, on the CPU (read as
// they come) and on every non-CPU device (kept there, read in one copy): the
// same numbers bit for bit (the same double operations in the same order),
// the reads counted, a non-finite loss raised with its step (at once on the
// CPU, at read() on a device), and the misuses.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "optim/step_tally.h"
#include "tensor/backend.h"
#include "tensor/creation.h"
#include "tests/devices_to_test.h"
#include "tests/error_of.h"

using namespace gradlab;
using gradlab::test::error_of;
using gradlab::testing::devices_to_test;

namespace {

// Values whose sums round, in f32 and f64, so that an order or a precision change shows.
const std::vector<double> kValues{0.1, 1.0 / 3.0, 2.5e-8, 7.7, -0.3};

// Feeds kValues to a tally on `device`: sum 0 += v, sum 1 += v * 3 / 7, and records each.
optim::StepTally fed(Device device, DType dtype) {
  optim::StepTally tally("test loop", device, 2);
  for (size_t k = 0; k < kValues.size(); ++k) {
    const Tensor v = scalar(kValues[k], dtype, device);
    tally.check_finite(Var(v), int64_t(k));
    tally.add(0, v);
    tally.add(1, v.reshape({1}), 3.0, 7.0);
    tally.record(v);
  }
  return tally;
}

}  // namespace

TEST_CASE("StepTally on the CPU: host doubles, in order") {
  for (DType dtype : {DType::f32, DType::f64}) {
    optim::StepTally tally = fed(Device::cpu, dtype);
    CHECK(tally.pending() == 0);
    tally.read();
    double s0 = 0, s1 = 0;
    std::vector<double> series;
    for (double v : kValues) {
      const double x = scalar(v, dtype).item();  // the value as the tensor holds it
      s0 += x;
      s1 += x * 3.0 / 7.0;
      series.push_back(x);
    }
    CHECK(tally.sum(0) == s0);
    CHECK(tally.sum(1) == s1);
    CHECK(tally.take_recorded() == series);
    CHECK(tally.take_recorded().empty());
    tally.reset_sums();
    CHECK(tally.sum(0) == 0);
  }
}

TEST_CASE("StepTally on a device: the CPU's numbers bit for bit, read in one copy") {
  for (Device device : devices_to_test()) {
    CAPTURE(device);
    for (DType dtype : {DType::f32, DType::f64}) {
      optim::StepTally cpu = fed(Device::cpu, dtype);
      const TransferCounts before = transfer_counts();
      optim::StepTally dev = fed(device, dtype);
      CHECK(transfer_counts().to_host == before.to_host);  // nothing read while the loop runs
      CHECK(dev.pending() == 4 * int64_t(kValues.size()));
      CHECK(error_of([&] { (void)dev.sum(0); }).find("before read()") != std::string::npos);
      dev.read();
      CHECK(transfer_counts().to_host - before.to_host == 1);
      CHECK(dev.pending() == 0);
      CHECK(dev.sum(0) == cpu.sum(0));
      CHECK(dev.sum(1) == cpu.sum(1));
      CHECK(dev.take_recorded() == cpu.take_recorded());
      dev.read();  // nothing pending: no copy
      CHECK(transfer_counts().to_host - before.to_host == 1);

      // Reading mid-way changes nothing: the device keeps summing in order.
      optim::StepTally split("split", device, 1);
      for (size_t k = 0; k < kValues.size(); ++k) {
        split.add(0, scalar(kValues[k], dtype, device));
        if (k == 1) split.read();
      }
      split.read();
      CHECK(split.sum(0) == cpu.sum(0));
      split.reset_sums();
      split.add(0, scalar(2.0, dtype, device));
      split.read();
      CHECK(split.sum(0) == 2.0);
    }
  }
}

TEST_CASE("StepTally: a loss that is not finite is raised with its step") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // The CPU raises at once, before the backward pass would run.
  optim::StepTally cpu("SFT", Device::cpu);
  CHECK_NOTHROW(cpu.check_finite(Var(scalar(1.0)), 0));
  CHECK(error_of([&] { cpu.check_finite(Var(scalar(nan)), 4); }) ==
        "SFT: the loss is nan at step 4; lower the learning rate or check the inputs");
  for (Device device : devices_to_test()) {
    CAPTURE(device);
    // A device raises at read(), naming the first bad step and its loss.
    optim::StepTally dev("DPO", device);
    dev.check_finite(Var(scalar(1.0, DType::f32, device)), 0);
    dev.check_finite(Var(scalar(-inf, DType::f32, device)), 1);
    dev.check_finite(Var(scalar(nan, DType::f32, device)), 2);
    CHECK(error_of([&] { dev.read(); }) ==
          "DPO: the loss is -inf at step 1; lower the learning rate or check the inputs");
    // The error is raised once; later finite losses read cleanly.
    dev.check_finite(Var(scalar(2.0, DType::f32, device)), 3);
    CHECK_NOTHROW(dev.read());
    dev.check_finite(Var(scalar(nan, DType::f64, device)), 5);
    CHECK(error_of([&] { dev.read(); }).find("the loss is nan at step 5") != std::string::npos);
  }
}

TEST_CASE("StepTally: misuse is a clear error") {
  optim::StepTally cpu("loop", Device::cpu, 1);
  CHECK(error_of([&] { cpu.add(1, scalar(1.0)); }) == "loop: StepTally has 1 sums, got index 1");
  CHECK(error_of([&] { cpu.add(-1, scalar(1.0)); }) == "loop: StepTally has 1 sums, got index -1");
  CHECK(error_of([&] { (void)cpu.sum(2); }) == "loop: StepTally has 1 sums, got index 2");
  CHECK(error_of([] { optim::StepTally("loop", Device::cpu, -1); }) ==
        "loop: StepTally: the number of sums must be >= 0, got -1");
  CHECK(error_of([&] { cpu.check_finite(Var(zeros({2})), 0); }) == "loop: the loss must be a scalar, got shape [2]");
  optim::StepTally ref("loop", Device::ref, 1);
  CHECK(error_of([&] { ref.add(0, zeros({2}, DType::f32, Device::ref)); }) ==
        "loop: StepTally takes one-element tensors, got shape [2]");
  CHECK(error_of([&] { ref.add(0, scalar(1.0)); }) == "loop: a value on cpu, the tally on ref");
  CHECK(error_of([&] { ref.record(scalar(1.0)); }) == "loop: a value on cpu, the tally on ref");
  CHECK(error_of([&] { ref.check_finite(Var(scalar(1.0)), 0); }) == "loop: the loss is on cpu, the tally on ref");
  ref.add(0, scalar(1.0, DType::f32, Device::ref));
  CHECK(error_of([&] { ref.reset_sums(); }).find("before read()") != std::string::npos);
  CHECK(error_of([&] { (void)ref.take_recorded(); }).find("before read()") != std::string::npos);
}
