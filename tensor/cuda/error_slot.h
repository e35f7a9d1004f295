// A small slot in device memory where kernels report the first bad index they
// meet (out-of-range gather/index_select indices, cross-entropy targets): the
// kernel skips the access and records (1, value, position); the host reads the
// slot after the launch and raises gradlab::Error naming the op and the value,
// as the CPU kernels do before they start.
#pragma once

#include <cstdint>

namespace gradlab::cuda {

// Device pointer to int64 [flag, value, position], zero when nothing was reported.
int64_t* error_slot();
// Copies the slot back (synchronising) and clears it; true if a kernel reported.
bool take_error_slot(int64_t& value, int64_t& position);

void set_tf32(bool on);
bool tf32();

}  // namespace gradlab::cuda
