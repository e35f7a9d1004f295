// Data-parallel training: every rank holds the whole model, trains on its own
// shard of each batch, and steps its optimiser on the gradient averaged over
// all ranks, so the ranks' weights stay identical step after step.
//
//   auto comm = dist::make_communicator();            // mpi under mpirun, else single
//   dist::DataParallel ddp(*comm, model.parameters()); // broadcasts rank 0's weights
//   for (...) {
//     opt.zero_grad();
//     loss_on_my_shard.backward();   // buckets of gradients start all-reducing as they are ready
//     ddp.synchronize();             // waits; each grad is now the mean over the ranks
//     opt.step();
//   }
//
// Buckets: the parameters are grouped, in reverse order (the order backward
// reaches them), into buckets of about bucket_bytes. A hook on each parameter
// copies its gradient into its bucket when backward has summed it; a full
// bucket starts a non-blocking all-reduce at once, while backward goes on
// with the earlier layers (buckets start in index order on every rank, so the
// collectives match). synchronize() starts what is left (a parameter that got
// no gradient counts as zero), waits, and writes the mean back into each grad.
//
// One backward per step: every rank must run backward over the same
// parameters in each step. With the mean of the local losses on equal shards,
// the averaged gradient is the gradient of the global batch's mean loss.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/var.h"
#include "dist/communicator.h"

namespace gradlab::dist {

struct DataParallelOptions {
  int64_t bucket_bytes = int64_t(1) << 20;  // 0: one bucket per parameter
  bool overlap = true;  // start each bucket during backward; false: all in synchronize()
  bool broadcast_initial = true;  // copy rank 0's parameters to every rank at construction
};

struct DataParallelStats {
  int64_t buckets = 0;            // per step
  int64_t bytes_per_step = 0;     // gradient bytes each rank all-reduces
  int64_t steps = 0;              // synchronize() calls
  int64_t started_in_backward = 0;  // buckets started from a hook (overlapped), over all steps
  double wait_seconds = 0;        // time synchronize() spent waiting, over all steps
};

class DataParallel {
 public:
  // params: leaf Vars that require gradients, the same list (shapes, dtypes,
  // order) on every rank, which is checked.
  DataParallel(Communicator& comm, std::vector<Var> params, DataParallelOptions options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // After backward: every parameter's grad becomes the mean over the ranks of
  // the gradient this step's backward produced (added to the grad it had
  // before backward, if any). Throws gradlab::Error after the timeout.
  void synchronize();

  Communicator& communicator() const { return comm_; }
  const DataParallelStats& stats() const { return stats_; }
  // Bucket b's parameter indices (into params), for tests and the docs.
  std::vector<std::vector<size_t>> bucket_layout() const;

 private:
  struct Bucket;
  void on_gradient(size_t param, const Tensor& grad);
  void start_ready_buckets();
  void start(size_t bucket, bool in_backward);

  Communicator& comm_;
  std::vector<Var> params_;
  DataParallelOptions options_;
  std::vector<int> hook_ids_;
  std::vector<std::unique_ptr<Bucket>> buckets_;
  std::vector<size_t> bucket_of_;     // per parameter
  std::vector<int64_t> offset_of_;    // per parameter, in its bucket's elements
  std::vector<Tensor> grad_before_;   // per parameter: its grad when backward reached it
  std::vector<bool> reached_;         // per parameter: this step's backward reached it
  size_t next_to_start_ = 0;
  DataParallelStats stats_;
};

}  // namespace gradlab::dist
