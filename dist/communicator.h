// Collective communication between the processes of one training job: the
// interface every backend implements, and the factory that picks one.
//
//   single  one process (rank 0 of 1): every collective is the identity, so
//           code written for several processes runs unchanged without mpirun.
//   mpi     CPU tensors over MPI (OpenMPI from Debian): start the job with
//           mpirun -np N; one rank per process (dist/mpi.cpp).
//   nccl    CUDA tensors over NCCL, one rank per GPU, bootstrapped over MPI
//           (dist/nccl.cpp; a CUDA build only).
//
// Every collective must be called by every rank, in the same order, with
// tensors of the same shape and dtype. A rank that waits longer than the
// timeout (GRADLAB_DIST_TIMEOUT seconds, default 300) for the others throws a
// gradlab::Error naming itself and the operation; abort() then stops every
// rank of the job with that message instead of leaving the others to hang.
#pragma once

#include <memory>
#include <string>

#include "tensor/tensor.h"

namespace gradlab::dist {

enum class ReduceOp { sum, mean, max };

// A collective started but not yet finished (all_reduce_async).
class Work {
 public:
  virtual ~Work() = default;
  // Blocks until the operation finished on this rank; throws gradlab::Error
  // after the communicator's timeout.
  virtual void wait() = 0;
  // Whether it finished, without blocking; also moves it along (MPI
  // progresses a non-blocking collective only inside such calls).
  virtual bool test() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual std::string backend() const = 0;  // "single", "mpi", "nccl"
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  double timeout_seconds() const { return timeout_; }

  // In place over all ranks: t becomes the elementwise sum, mean or maximum
  // of every rank's t. t contiguous, f32, f64 or i64 (mean: floating only),
  // of the same shape and dtype on every rank, which is checked (a mismatch
  // is an error on every rank, not a hang).
  void all_reduce(Tensor& t, ReduceOp op = ReduceOp::sum);
  // The same without the cross-rank shape check, returning at once; t must
  // not be read or written until wait() returns. What DataParallel's buckets use.
  virtual std::unique_ptr<Work> all_reduce_async(Tensor& t, ReduceOp op = ReduceOp::sum) = 0;
  // In place: every rank's t becomes root's t (shape and dtype checked).
  void broadcast(Tensor& t, int root = 0);
  // Every rank's t stacked in rank order: [world_size, ...t.shape].
  Tensor all_gather(const Tensor& t);
  virtual void barrier() = 0;

  // Stops every rank of the job after printing `why` with this rank's number
  // (exit status 1). Call it from main's catch when a rank fails, so that the
  // others stop too. For one process it prints and exits.
  [[noreturn]] virtual void abort(const std::string& why) = 0;

 protected:
  explicit Communicator(double timeout_seconds) : timeout_(timeout_seconds) {}
  // The backends' raw collectives on contiguous tensors already checked.
  virtual void all_reduce_raw(Tensor& t, ReduceOp op) = 0;
  virtual void broadcast_raw(Tensor& t, int root) = 0;
  virtual void all_gather_raw(const Tensor& t, Tensor& out) = 0;
  // Throws gradlab::Error on every rank unless all ranks passed the same
  // shape and dtype (one small all-reduce).
  void check_same_layout(const Tensor& t, const char* op);

 private:
  double timeout_;
};

// The timeout from GRADLAB_DIST_TIMEOUT (seconds > 0), else 300.
double default_timeout_seconds();

// "single", "mpi", "nccl", or "auto": mpi when the process was started by
// mpirun (OMPI_COMM_WORLD_SIZE or PMI_SIZE is set), else single. A backend
// this build lacks is a clear error.
std::unique_ptr<Communicator> make_communicator(const std::string& backend = "auto");
std::unique_ptr<Communicator> make_single_process();
std::unique_ptr<Communicator> make_mpi(double timeout_seconds);
std::unique_ptr<Communicator> make_nccl(double timeout_seconds);
bool built_with_mpi();
bool built_with_nccl();

}  // namespace gradlab::dist
