// The devices a "the same result on every device" test runs on besides the
// CPU: ref always (a device to the caller with host memory, the stand-in for a
// GPU on a machine without one) and cuda when a GPU is present (said once per
// test binary when it is not).
#pragma once

#include <doctest/doctest.h>

#include <vector>

#include "tensor/backend.h"

namespace gradlab::testing {

inline std::vector<Device> devices_to_test() {
  std::vector<Device> out{Device::ref};
  if (backend_available(Device::cuda)) {
    out.push_back(Device::cuda);
  } else if (static bool said = false; !said) {
    said = true;
    MESSAGE("no GPU here: the cuda runs are skipped");
  }
  return out;
}

}  // namespace gradlab::testing
