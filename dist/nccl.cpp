// The NCCL backend (communicator.h): CUDA tensors, one rank per GPU, in a job
// started by mpirun. MPI bootstraps it (rank, world size, and NCCL's unique
// id sent from rank 0) and carries the small CPU-side checks; NCCL moves the
// tensors on gradlab's CUDA stream. Each wait polls the stream's event with
// the communicator's deadline and NCCL's asynchronous error, so a dead or
// stuck peer becomes a gradlab::Error naming this rank. Built with the CUDA
// backend and MPI; other builds compile dist/no_nccl.cpp.
#include <nccl.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "dist/communicator.h"
#include "tensor/cuda/check.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::dist {

namespace {

ncclDataType_t nccl_type(DType d) {
  switch (d) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::i64: return ncclInt64;
    default: GL_CHECK(false, "nccl: dtype {} is not supported (f32, f64 or i64)", d);
  }
  return ncclFloat32;
}

class NcclCommunicator;

class NcclWork : public Work {
 public:
  NcclWork(NcclCommunicator& comm, cudaEvent_t event, Tensor t, const char* name)
      : comm_(comm), event_(event), t_(std::move(t)), name_(name) {}
  ~NcclWork() override { cudaEventDestroy(event_); }
  void wait() override;
  bool test() override;

 private:
  NcclCommunicator& comm_;
  cudaEvent_t event_;
  Tensor t_;  // kept alive until the operation finished
  const char* name_;
  bool done_ = false;
};

class NcclCommunicator : public Communicator {
 public:
  explicit NcclCommunicator(double timeout) : Communicator(timeout), bootstrap_(make_mpi(timeout)) {
    rank_ = bootstrap_->rank(), world_ = bootstrap_->world_size();
    int devices = 0;
    GL_CUDA_CHECK(cudaGetDeviceCount(&devices));
    GL_CHECK(devices > 0, "nccl: rank {} sees no CUDA device", rank_);
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    GL_CUDA_CHECK(cudaSetDevice((local ? std::atoi(local) : rank_) % devices));
    ncclUniqueId id;
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    static_assert(sizeof(ncclUniqueId) % sizeof(int64_t) == 0);
    Tensor bytes = Tensor::empty({int64_t(sizeof(ncclUniqueId) / sizeof(int64_t))}, DType::i64);
    if (rank_ == 0) std::memcpy(bytes.data_ptr(), &id, sizeof(id));
    bootstrap_->broadcast(bytes, 0);
    std::memcpy(&id, bytes.data_ptr(), sizeof(id));
    check(ncclCommInitRank(&comm_, world_, id, rank_), "ncclCommInitRank");
  }
  ~NcclCommunicator() override {
    if (comm_) ncclCommDestroy(comm_);
  }
  std::string backend() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }

  std::unique_ptr<Work> all_reduce_async(Tensor& t, ReduceOp op) override {
    if (t.device() == Device::cpu) return bootstrap_->all_reduce_async(t, op);  // small CPU-side checks
    GL_CHECK(t.defined() && t.is_contiguous(), "all_reduce: the nccl backend needs a contiguous CUDA tensor");
    const ncclRedOp_t nop = op == ReduceOp::max ? ncclMax : (op == ReduceOp::mean ? ncclAvg : ncclSum);
    check(ncclAllReduce(t.data_ptr(), t.data_ptr(), size_t(t.numel()), nccl_type(t.dtype()), nop, comm_,
                        cuda::stream()),
          "all_reduce");
    return std::make_unique<NcclWork>(*this, record(), t, "all_reduce");
  }
  void barrier() override { bootstrap_->barrier(); }
  [[noreturn]] void abort(const std::string& why) override {
    if (comm_) ncclCommAbort(comm_), comm_ = nullptr;
    bootstrap_->abort(why);
    std::exit(1);  // not reached: abort() ends the process
  }

  // Polls the event until the deadline, watching NCCL's asynchronous error.
  bool poll(cudaEvent_t event, const char* op) {
    const cudaError_t status = cudaEventQuery(event);
    if (status == cudaSuccess) return true;
    GL_CHECK(status == cudaErrorNotReady, "{}: CUDA error on rank {} of {}: {}", op, rank_, world_,
             cudaGetErrorString(status));
    ncclResult_t async = ncclSuccess;
    check(ncclCommGetAsyncError(comm_, &async), op);
    check(async, op);
    return false;
  }
  void wait(cudaEvent_t event, const char* op) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds());
    while (!poll(event, op)) {
      GL_CHECK(std::chrono::steady_clock::now() < deadline,
               "{}: rank {} of {} waited {:g} s for the other ranks and gave up (GRADLAB_DIST_TIMEOUT); another "
               "rank has stopped, is stuck, or called a different collective",
               op, rank_, world_, timeout_seconds());
      std::this_thread::yield();
    }
  }

 protected:
  void all_reduce_raw(Tensor& t, ReduceOp op) override { all_reduce_async(t, op)->wait(); }
  void broadcast_raw(Tensor& t, int root) override {
    if (t.device() == Device::cpu) return bootstrap_->broadcast(t, root);
    check(ncclBroadcast(t.data_ptr(), t.data_ptr(), size_t(t.numel()), nccl_type(t.dtype()), root, comm_,
                        cuda::stream()),
          "broadcast");
    NcclWork(*this, record(), t, "broadcast").wait();
  }
  void all_gather_raw(const Tensor& t, Tensor& out) override {
    GL_CHECK(t.device() != Device::cpu, "all_gather: the nccl backend gathers CUDA tensors");
    check(ncclAllGather(t.data_ptr(), out.data_ptr(), size_t(t.numel()), nccl_type(t.dtype()), comm_,
                        cuda::stream()),
          "all_gather");
    NcclWork(*this, record(), out, "all_gather").wait();
  }

 private:
  cudaEvent_t record() {
    cudaEvent_t event;
    GL_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    GL_CUDA_CHECK(cudaEventRecord(event, cuda::stream()));
    return event;
  }
  void check(ncclResult_t rc, const char* op) const {
    GL_CHECK(rc == ncclSuccess || rc == ncclInProgress, "{}: NCCL error on rank {} of {}: {}", op, rank_, world_,
             ncclGetErrorString(rc));
  }

  std::unique_ptr<Communicator> bootstrap_;
  ncclComm_t comm_ = nullptr;
  int rank_ = 0, world_ = 1;
};

void NcclWork::wait() {
  if (done_) return;
  comm_.wait(event_, name_);
  done_ = true;
}

bool NcclWork::test() {
  if (!done_) done_ = comm_.poll(event_, name_);
  return done_;
}

}  // namespace

std::unique_ptr<Communicator> make_nccl(double timeout_seconds) {
  return std::make_unique<NcclCommunicator>(timeout_seconds);
}
bool built_with_nccl() { return true; }

}  // namespace gradlab::dist
