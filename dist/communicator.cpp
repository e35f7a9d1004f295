// The backend-independent half of Communicator: argument and cross-rank
// layout checks around each collective, and the factory (communicator.h).
#include "dist/communicator.h"

#include <cstdlib>
#include <string_view>

#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::dist {

namespace {

void check_tensor(const Tensor& t, const char* op) {
  GL_CHECK(t.defined(), "{}: the tensor is undefined", op);
  GL_CHECK(t.is_contiguous(), "{}: the tensor must be contiguous (call .contiguous() first)", op);
  GL_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64 || t.dtype() == DType::i64,
           "{}: dtype {} is not supported (f32, f64 or i64)", op, t.dtype());
}

}  // namespace

void Communicator::check_same_layout(const Tensor& t, const char* op) {
  if (world_size() == 1) return;
  // dtype, rank and up to 8 sizes (more axes: their product), compared by a max over ranks of v and of -v.
  constexpr int kSlots = 10;
  std::vector<int64_t> v(2 * kSlots, 0);
  v[0] = int64_t(t.dtype());
  v[1] = t.dim();
  for (int64_t a = 0; a < t.dim(); ++a) {
    if (a < 8)
      v[size_t(2 + a)] = t.size(a);
    else
      v[9] *= t.size(a);
  }
  for (int i = 0; i < kSlots; ++i) v[size_t(kSlots + i)] = -v[size_t(i)];
  Tensor m = from_vector(v);
  all_reduce_raw(m, ReduceOp::max);
  const std::vector<int64_t> got = m.to_vector<int64_t>();
  for (int i = 0; i < kSlots; ++i)
    GL_CHECK(got[size_t(i)] == v[size_t(i)] && got[size_t(kSlots + i)] == v[size_t(kSlots + i)],
             "{}: rank {} of {} passed a tensor of shape {} and dtype {}, but another rank's differs (every rank must "
             "pass the same shape and dtype)",
             op, rank(), world_size(), t.shape(), t.dtype());
}

void Communicator::all_reduce(Tensor& t, ReduceOp op) {
  check_tensor(t, "all_reduce");
  GL_CHECK(op != ReduceOp::mean || t.dtype() != DType::i64, "all_reduce: mean of an i64 tensor (use sum)");
  check_same_layout(t, "all_reduce");
  all_reduce_raw(t, op);
}

void Communicator::broadcast(Tensor& t, int root) {
  check_tensor(t, "broadcast");
  GL_CHECK(root >= 0 && root < world_size(), "broadcast: root {} is not a rank of a world of {}", root, world_size());
  check_same_layout(t, "broadcast");
  broadcast_raw(t, root);
}

Tensor Communicator::all_gather(const Tensor& t) {
  check_tensor(t, "all_gather");
  check_same_layout(t, "all_gather");
  Shape shape = t.shape();
  shape.insert(0, world_size());
  Tensor out = Tensor::empty(shape, t.dtype(), t.device());
  all_gather_raw(t, out);
  return out;
}

double default_timeout_seconds() {
  const char* text = std::getenv("GRADLAB_DIST_TIMEOUT");
  if (!text || !*text) return 300.0;
  char* end = nullptr;
  const double s = std::strtod(text, &end);
  GL_CHECK(end && *end == '\0' && s > 0, "GRADLAB_DIST_TIMEOUT='{}' is not a positive number of seconds", text);
  return s;
}

std::unique_ptr<Communicator> make_communicator(const std::string& backend) {
  if (backend == "single") return make_single_process();
  if (backend == "mpi") return make_mpi(default_timeout_seconds());
  if (backend == "nccl") return make_nccl(default_timeout_seconds());
  GL_CHECK(backend == "auto", "make_communicator: unknown backend '{}' (single, mpi, nccl or auto)", backend);
  const bool launched = std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE");
  return launched ? make_mpi(default_timeout_seconds()) : make_single_process();
}

}  // namespace gradlab::dist
