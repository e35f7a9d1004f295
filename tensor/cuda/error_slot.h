// Deferred index checks of the CUDA kernels. A kernel that meets a bad index
// (gather, scatter_add, index_select, index_add) or target (cross_entropy)
// skips the access and records (1, value, position, check id) in a small slot
// in device memory; the host does not wait for it. The host registers each
// checked launch (op, bound, the caller's label) under its check id, and reads
// the slot later: after the next copy to the host, at check_pending_errors(),
// or right after the launch when GRADLAB_CUDA_SYNC=1. The error it raises is
// the CPU kernel's, naming the op, the value, the position and the bound.
#pragma once

#include <cstdint>
#include <string_view>

namespace gradlab::cuda {

// What a kernel needs to report a bad index: the slot, int64 [flag, value,
// position, check id] in device memory (zero when nothing was reported), and
// the id of this launch's check.
struct IndexCheck {
  int64_t* slot;
  int64_t id;
};

// How the host words an error: an index into an axis of `bound` entries, or a
// cross-entropy target among `bound` classes.
enum class CheckKind { index, target };

// Registers a checked launch of `op` and returns what its kernel reports into.
IndexCheck expect_check(std::string_view op, int64_t bound, CheckKind kind);
// Allocates the slot now if it is not yet (a CUDA graph's capture may not
// allocate, so CudaGraph::capture calls this first).
void prepare_error_slot();
// After the launch: nothing, or in debug mode (GRADLAB_CUDA_SYNC=1) the check now.
void after_checked_launch();
// Reads the slot if a checked kernel ran since the last read (a synchronising
// copy, counted as a device-to-host crossing) and raises its error, if any.
void check_errors();
// The same without a crossing of its own, right after a copy to the host has
// drained the queue (tensor/cuda/backend.cpp's to_host).
void check_errors_after_sync();

void set_tf32(bool on);
bool tf32();

}  // namespace gradlab::cuda
