// The MPI backend (communicator.h): CPU tensors, one rank per process started
// by mpirun. Every collective is issued non-blocking and waited for with a
// deadline, so a rank whose partners stopped or went astray throws a
// gradlab::Error naming itself instead of hanging. This is the only file that
// includes <mpi.h>; a build without MPI compiles dist/no_mpi.cpp instead.
// The C API only (OpenMPI's C++ bindings are deprecated and warn under -Wextra).
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>

#include <fmt/format.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "dist/communicator.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::dist {

namespace {

// MPI is initialised once per process (by the first communicator) and
// finalised at exit.
void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}
void ensure_mpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  GL_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS,
           "mpi: MPI_Init_thread failed (is this process started by mpirun?)");
  std::atexit(finalize_mpi);
}

MPI_Datatype mpi_type(DType d) {
  switch (d) {
    case DType::f32: return MPI_FLOAT;
    case DType::f64: return MPI_DOUBLE;
    case DType::i64: return MPI_INT64_T;
    default: GL_CHECK(false, "mpi: dtype {} is not supported (f32, f64 or i64)", d);
  }
  return MPI_DATATYPE_NULL;
}

int mpi_count(const Tensor& t, const char* op) {
  GL_CHECK(t.numel() <= INT_MAX, "{}: {} elements is more than one MPI call takes ({}); split the tensor", op,
           t.numel(), INT_MAX);
  return int(t.numel());
}

class MpiCommunicator;

class MpiWork : public Work {
 public:
  MpiWork(MpiCommunicator& comm, MPI_Request request, Tensor t, ReduceOp op, const char* name)
      : comm_(comm), request_(request), t_(std::move(t)), op_(op), name_(name) {}
  void wait() override;
  bool test() override;

 private:
  MpiCommunicator& comm_;
  MPI_Request request_;
  Tensor t_;  // kept alive until the operation finished
  ReduceOp op_;
  const char* name_;
  bool done_ = false;
  void finish();
};

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(double timeout) : Communicator(timeout) {
    ensure_mpi();
    GL_CHECK(MPI_Comm_dup(MPI_COMM_WORLD, &comm_) == MPI_SUCCESS, "mpi: MPI_Comm_dup failed");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &world_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  std::string backend() const override { return "mpi"; }
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }

  std::unique_ptr<Work> all_reduce_async(Tensor& t, ReduceOp op) override {
    GL_CHECK(t.defined() && t.is_contiguous() && t.device() == Device::cpu,
             "all_reduce: the mpi backend needs a defined, contiguous CPU tensor");
    MPI_Request request;
    check(MPI_Iallreduce(MPI_IN_PLACE, t.data_ptr(), mpi_count(t, "all_reduce"), mpi_type(t.dtype()),
                         op == ReduceOp::max ? MPI_MAX : MPI_SUM, comm_, &request),
          "all_reduce");
    return std::make_unique<MpiWork>(*this, request, t, op, "all_reduce");
  }
  void barrier() override {
    MPI_Request request;
    check(MPI_Ibarrier(comm_, &request), "barrier");
    wait(request, "barrier");
  }
  [[noreturn]] void abort(const std::string& why) override {
    std::fprintf(stderr, "[gradlab rank %d of %d] %s\n", rank_, world_, why.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::exit(1);
  }

  // Whether request finished (moving it along).
  bool test(MPI_Request& request, const char* op) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), op);
    return done != 0;
  }
  // Waits for request with the communicator's deadline.
  void wait(MPI_Request& request, const char* op) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::duration<double>(timeout_seconds());
    for (;;) {
      int done = 0;
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), op);
      if (done) return;
      const auto now = std::chrono::steady_clock::now();
      GL_CHECK(now < deadline,
               "{}: rank {} of {} waited {:g} s for the other ranks and gave up (GRADLAB_DIST_TIMEOUT); another "
               "rank has stopped, is stuck, or called a different collective",
               op, rank_, world_, timeout_seconds());
      // MPI moves a non-blocking collective along only inside its calls, so
      // poll without pause; after a second the partner is late, not busy:
      // then poll every millisecond and leave the core to others.
      if (now - start < std::chrono::seconds(1))
        std::this_thread::yield();
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 protected:
  void all_reduce_raw(Tensor& t, ReduceOp op) override { all_reduce_async(t, op)->wait(); }
  void broadcast_raw(Tensor& t, int root) override {
    MPI_Request request;
    check(MPI_Ibcast(t.data_ptr(), mpi_count(t, "broadcast"), mpi_type(t.dtype()), root, comm_, &request),
          "broadcast");
    wait(request, "broadcast");
  }
  void all_gather_raw(const Tensor& t, Tensor& out) override {
    MPI_Request request;
    const MPI_Datatype type = mpi_type(t.dtype());
    const int count = mpi_count(t, "all_gather");
    check(MPI_Iallgather(t.data_ptr(), count, type, out.data_ptr(), count, type, comm_, &request), "all_gather");
    wait(request, "all_gather");
  }

 private:
  void check(int rc, const char* op) const {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(rc, text, &length);
    GL_CHECK(false, "{}: MPI error on rank {} of {}: {}", op, rank_, world_, std::string(text, size_t(length)));
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, world_ = 1;
};

void MpiWork::wait() {
  if (done_) return;
  comm_.wait(request_, name_);
  finish();
}

bool MpiWork::test() {
  if (done_) return true;
  if (!comm_.test(request_, name_)) return false;
  finish();
  return true;
}

void MpiWork::finish() {
  done_ = true;
  if (op_ == ReduceOp::mean && comm_.world_size() > 1) t_.copy_(mul(t_, 1.0 / comm_.world_size()));
}

}  // namespace

std::unique_ptr<Communicator> make_mpi(double timeout_seconds) {
  return std::make_unique<MpiCommunicator>(timeout_seconds);
}
bool built_with_mpi() { return true; }

}  // namespace gradlab::dist
