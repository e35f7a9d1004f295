// Gradient clipping on gradients chosen so that the norms come out whole:
// the total norm returned, the scaling applied (or not), parameters without
// gradients skipped, mixed dtypes, the clip that leaves the norm on the
// device (against the same numbers, with no read back), the clip that picks
// one of them by device, clipping by value,
// and the bad arguments.
#include <doctest/doctest.h>

#include <cmath>

#include "optim/clip.h"
#include "tensor/backend.h"
#include "tests/optim/optim_check.h"

using namespace gradlab;
using namespace optim_test;

TEST_CASE("clip_grad_norm: returns the total norm and scales every gradient by max_norm / (norm + 1e-6)") {
  const Var a = param({0, 0}), b = Var::leaf(tensor({0})), none = param({5});
  set_grad(a, {3, 4});
  b.set_grad(tensor({12}));  // f32: the norm is still summed in f64
  // norm = sqrt(9 + 16 + 144) = 13
  const double norm = optim::clip_grad_norm({a, b, none}, 6.5);
  CHECK(norm == doctest::Approx(13).epsilon(1e-12));
  const double scale = 6.5 / (13 + 1e-6);  // just under one half
  check_values(a.grad(), {3 * scale, 4 * scale}, 1e-14, "a");
  check_values(b.grad(), {12 * scale}, 1e-6, "b");
  CHECK(b.grad().dtype() == DType::f32);
  CHECK_FALSE(none.grad().defined());
  // Now the norm is just under 6.5: nothing changes.
  const double again = optim::clip_grad_norm({a, b, none}, 6.5);
  CHECK(again == doctest::Approx(6.5).epsilon(1e-6));
  CHECK(again < 6.5);
  check_values(a.grad(), {3 * scale, 4 * scale}, 1e-14, "a unchanged");
}

TEST_CASE("clip_grad_norm: below max_norm nothing is scaled; no gradients give 0") {
  const Var a = param({0, 0});
  set_grad(a, {3, 4});
  CHECK(optim::clip_grad_norm({a}, 20) == 5);
  check_values(a.grad(), {3, 4}, 0);
  const Var none = param({1});
  CHECK(optim::clip_grad_norm({none}, 1) == 0);
}

TEST_CASE("clip_grad_norm: a non-finite norm is returned and the gradients are left alone") {
  const Var a = param({0, 0});
  set_grad(a, {INFINITY, 1});
  CHECK(std::isinf(optim::clip_grad_norm({a}, 1)));
  check_values(a.grad().slice(0, 1, 2), {1}, 0);
}

TEST_CASE("clip_grad_norm_async: clip_grad_norm on the CPU, the on-device clip elsewhere (no read)") {
  for (const Device device : {Device::cpu, Device::ref}) {
    CAPTURE(device_name(device));
    const Var a = Var::leaf(t64({0, 0}).to(device));
    a.set_grad(t64({3, 4}).to(device));
    const TransferCounts before = transfer_counts();
    optim::clip_grad_norm_async({a}, 2.5);
    CHECK(transfer_counts().to_host == before.to_host);
    const double scale = 2.5 / (5 + 1e-6);
    check_values(a.grad().to(Device::cpu), {3 * scale, 4 * scale}, 1e-14, "a");
  }
  CHECK_NOTHROW(optim::clip_grad_norm_async({}, 1));  // nothing to clip
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm_async({param({1})}, -1),
                       "clip_grad_norm: max_norm must be finite and > 0, got -1", Error);
}

TEST_CASE("clip_grad_norm_on_device: clip_grad_norm's numbers, with the norm left on the device") {
  for (const Device device : {Device::cpu, Device::ref}) {
    CAPTURE(device_name(device));
    const auto on = [&](std::initializer_list<double> v) { return t64(v).to(device); };
    const Var a = Var::leaf(on({0, 0})), b = Var::leaf(on({0})), none = Var::leaf(on({5}));
    a.set_grad(on({3, 4}));
    b.set_grad(on({12}));
    const TransferCounts before = transfer_counts();
    const Tensor norm = optim::clip_grad_norm_on_device({a, b, none}, 6.5);  // sqrt(9 + 16 + 144) = 13
    CHECK(transfer_counts().to_host == before.to_host);                        // nothing read back
    CHECK(transfer_counts().from_host == before.from_host);
    CHECK(norm.device() == device);
    CHECK(norm.item() == doctest::Approx(13).epsilon(1e-12));
    const double scale = 6.5 / (13 + 1e-6);
    check_values(a.grad().to(Device::cpu), {3 * scale, 4 * scale}, 1e-14, "a");
    check_values(b.grad().to(Device::cpu), {12 * scale}, 1e-14, "b");
    CHECK_FALSE(none.grad().defined());
    // Below max_norm, and with a non-finite norm, every gradient keeps its value.
    a.set_grad(on({3, 4}));
    CHECK(optim::clip_grad_norm_on_device({a}, 20).item() == 5);
    check_values(a.grad().to(Device::cpu), {3, 4}, 0, "below");
    a.set_grad(on({INFINITY, 1}));
    CHECK(std::isinf(optim::clip_grad_norm_on_device({a}, 1).item()));
    check_values(a.grad().slice(0, 1, 2).to(Device::cpu), {1}, 0, "non-finite");
  }
  const Var a = param({1}), elsewhere = Var::leaf(t64({1}).to(Device::ref));
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm_on_device({a}, 0),
                       "clip_grad_norm_on_device: max_norm must be finite and > 0, got 0", Error);
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm_on_device({}, 1), "clip_grad_norm_on_device: no parameters", Error);
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm_on_device({a, elsewhere}, 1),
                       "clip_grad_norm_on_device: parameters on cpu and ref", Error);
}

TEST_CASE("clip_grad_value clamps each element") {
  const Var a = param({0, 0, 0}), none = param({1});
  set_grad(a, {-3, 0.5, 7});
  optim::clip_grad_value({a, none}, 1);
  check_values(a.grad(), {-1, 0.5, 1}, 0);
  CHECK_FALSE(none.grad().defined());
}

TEST_CASE("clipping: bad arguments") {
  const Var a = param({1});
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm({a}, 0), "clip_grad_norm: max_norm must be finite and > 0, got 0", Error);
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm({a}, -1), "clip_grad_norm: max_norm must be finite and > 0, got -1",
                       Error);
  CHECK_THROWS_WITH_AS(optim::clip_grad_value({a}, NAN), "clip_grad_value: clip_value must be finite and > 0, got nan",
                       Error);
  CHECK_THROWS_WITH_AS(optim::clip_grad_norm({a, Var()}, 1), "clip_grad_norm: got an undefined Var", Error);
}
