// The device runtime of a CUDA build: checked cudaMalloc, cudaFree and
// cudaMemcpy on the one stream, the cuBLAS handle, and the error reporting
// that every CUDA file uses (tensor/cuda/check.h). Host code only, so g++
// compiles it against the CUDA runtime headers. Every CUDA call is checked; a
// failure raises gradlab::Error with the file, line and CUDA's error string.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tensor/backend.h"
#include "tensor/cuda/check.h"
#include "tensor/cuda/error_slot.h"
#include "tensor/device.h"
#include "tensor/error.h"

namespace gradlab {

namespace cuda {

void raise_cuda_error(cudaError_t err, const char* file, int line, const char* call) {
  cudaGetLastError();  // clear a non-sticky error so that the process can go on
  fail("CUDA error at {}:{}: {} ({}) in {}", file, line, cudaGetErrorString(err), cudaGetErrorName(err), call);
}

namespace {
const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("GRADLAB_CUDA_SYNC");
    return v != nullptr && std::strcmp(v, "0") != 0;
  }();
  return on;
}

// GRADLAB_CUDA_PROFILE=1: every checked launch waits for its kernel, and the
// wall time since the previous launch finished (the host work, copies and
// allocations before it, and the kernel itself) is added to the kernel's
// name. The totals are printed to stderr when the process exits, largest
// first. A coarse, dependency-free view of where a step's time goes; it
// slows the program down (one synchronise per kernel), so time nothing else
// while it is on.
class LaunchProfile {
 public:
  static LaunchProfile* get() {
    static LaunchProfile* profile = [] {
      const char* v = std::getenv("GRADLAB_CUDA_PROFILE");
      return v != nullptr && std::strcmp(v, "0") != 0 ? new LaunchProfile : nullptr;
    }();
    return profile;
  }
  void mark(const char* kernel) {
    const auto now = std::chrono::steady_clock::now();
    Entry& e = entries_[kernel];
    e.seconds += std::chrono::duration<double>(now - last_).count();
    e.count += 1;
    last_ = now;
  }

 private:
  struct Entry {
    double seconds = 0;
    long count = 0;
  };
  LaunchProfile() : last_(std::chrono::steady_clock::now()) {
    std::atexit([] { get()->print(); });
  }
  void print() const {
    std::vector<std::pair<std::string, Entry>> rows(entries_.begin(), entries_.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    double total = 0;
    for (const auto& r : rows) total += r.second.seconds;
    std::fprintf(stderr,
                 "\nGRADLAB_CUDA_PROFILE: %.3f s over %zu kernel names (time since the previous launch ended)\n", total,
                 rows.size());
    std::fprintf(stderr, "%-28s %10s %8s %10s %6s\n", "kernel", "seconds", "calls", "us/call", "share");
    for (const auto& [name, e] : rows)
      std::fprintf(stderr, "%-28s %10.4f %8ld %10.1f %5.1f%%\n", name.c_str(), e.seconds, e.count,
                   1e6 * e.seconds / double(e.count), total > 0 ? 100.0 * e.seconds / total : 0.0);
  }
  std::map<std::string, Entry> entries_;
  std::chrono::steady_clock::time_point last_;
};

bool g_tf32 = false;
}  // namespace

std::vector<void*> g_frees_after_capture;

void raise_cublas_error(cublasStatus_t status, const char* file, int line, const char* call) {
  fail("cuBLAS error at {}:{}: {} ({}) in {}", file, line, cublas_status_name(status), int(status), call);
}

void check_launch(const char* file, int line, const char* kernel) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    fail("CUDA error at {}:{}: launching {}: {} ({})", file, line, kernel, cudaGetErrorString(err),
         cudaGetErrorName(err));
  LaunchProfile* profile = LaunchProfile::get();
  if ((sync_after_launch() || profile != nullptr) && !capturing()) {  // a recorded launch runs nothing yet
    const cudaError_t done = cudaStreamSynchronize(stream());
    if (done != cudaSuccess)
      fail("CUDA error at {}:{}: running {}: {} ({})", file, line, kernel, cudaGetErrorString(done),
           cudaGetErrorName(done));
    if (profile != nullptr) profile->mark(kernel);
  }
}

cublasHandle_t cublas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    GL_CUBLAS_CHECK(cublasCreate(&h));
    // A workspace of our own, so that cuBLAS never allocates one while a
    // CUDA graph records (32 MiB: what cuBLAS asks for on Hopper).
    constexpr size_t kWorkspace = size_t(32) << 20;
    void* workspace = nullptr;
    GL_CUDA_CHECK(cudaMalloc(&workspace, kWorkspace));
    GL_CUBLAS_CHECK(cublasSetWorkspace(h, workspace, kWorkspace));
    return h;  // kept for the life of the process (destroying it at exit races the driver's teardown)
  }();
  GL_CUBLAS_CHECK(cublasSetStream(handle, stream()));  // the capture stream while a CudaGraph records
  GL_CUBLAS_CHECK(cublasSetMathMode(handle, g_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return handle;
}

// ---- the error slot: [flag, bad value, position, check id] in device memory ----
// The host keeps one record per checked launch since the slot was last read;
// a kernel writes its launch's id beside the bad value, so a deferred error
// still names the op, its bound and the caller's label.
namespace {
struct CheckRecord {
  std::string op;
  int64_t bound;
  CheckKind kind;
  std::string label;
};
int64_t* g_slot = nullptr;
std::vector<CheckRecord> g_checks;             // since the last read; index = check id
constexpr size_t kMaxPendingChecks = 1 << 16;  // then the slot is read (and the list emptied)

int64_t* slot_pointer() {
  if (g_slot == nullptr) {
    void* p = nullptr;
    GL_CUDA_CHECK(cudaMalloc(&p, 4 * sizeof(int64_t)));
    GL_CUDA_CHECK(cudaMemset(p, 0, 4 * sizeof(int64_t)));
    g_slot = static_cast<int64_t*>(p);
  }
  return g_slot;
}

// Reads the slot (the copy waits for every queued kernel), forgets the
// records, and raises the first error a kernel reported.
void read_slot() {
  if (g_checks.empty()) return;
  GL_CHECK(!capturing(),
           "a deferred index check reads the GPU's error slot back to the host, which a CUDA graph cannot record "
           "(CudaGraph::capture; unset GRADLAB_CUDA_SYNC, and check errors after the replay)");
  int64_t host[4] = {};
  GL_CUDA_CHECK(cudaMemcpy(host, slot_pointer(), sizeof host, cudaMemcpyDeviceToHost));
  std::vector<CheckRecord> checks;
  checks.swap(g_checks);
  if (host[0] == 0) return;
  GL_CUDA_CHECK(cudaMemset(g_slot, 0, 4 * sizeof(int64_t)));
  const int64_t value = host[1], position = host[2], id = host[3];
  GL_CHECK(id >= 0 && size_t(id) < checks.size(), "CUDA: a kernel reported bad index {} under an unknown check {}",
           value, id);
  const CheckRecord& c = checks[size_t(id)];
  const std::string where = c.label.empty() ? std::string() : fmt::format(" [in {}]", c.label);
  const std::string when = sync_after_launch() ? std::string()
                                               : std::string(
                                                     " (found by a CUDA kernel and raised at the next check; "
                                                     "GRADLAB_CUDA_SYNC=1 raises it at the launch)");
  if (c.kind == CheckKind::target)
    fail("{}: target {} of row {} is out of range for {} classes{}{}", c.op, value, position, c.bound, where, when);
  fail("{}: index {} is out of range for an axis of size {} (at position {}){}{}", c.op, value, c.bound, position,
       where, when);
}
}  // namespace

void prepare_error_slot() { slot_pointer(); }

IndexCheck expect_check(std::string_view op, int64_t bound, CheckKind kind) {
  if (g_checks.size() >= kMaxPendingChecks) read_slot();
  int64_t* slot = slot_pointer();
  g_checks.push_back({std::string(op), bound, kind, std::string(error_label())});
  return {slot, int64_t(g_checks.size()) - 1};
}

void after_checked_launch() {
  if (sync_after_launch()) read_slot();
}

void check_errors() {
  if (g_checks.empty()) return;
  count_crossing(Device::cuda, Device::cpu);  // the read waits for the queue, as a copy to the host does
  read_slot();
}

void check_errors_after_sync() { read_slot(); }

void set_tf32(bool on) { g_tf32 = on; }
bool tf32() { return g_tf32; }

}  // namespace cuda

bool cuda_built() { return true; }

bool cuda_available() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return false;
  }
  return count > 0;
}

std::string cuda_device_name() {
  if (!cuda_available()) return "none (no GPU found)";
  cudaDeviceProp prop{};
  GL_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  return prop.name;
}

void* cuda_malloc(size_t nbytes) {
  GL_CHECK(cuda_available(), "CUDA tensor requested, but no GPU is present on this machine");
  GL_CHECK(!cuda::capturing(),
           "cudaMalloc of {} bytes while a CUDA graph records (CudaGraph::capture): the caching allocator had no "
           "free block of that size; run the step once eagerly before capturing it, so that the cache holds every "
           "block a step needs",
           nbytes);
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, nbytes);
  if (err == cudaErrorMemoryAllocation) {  // the caching allocator frees its cache and retries once
    cudaGetLastError();
    return nullptr;
  }
  GL_CUDA_CHECK(err);
  return ptr;
}

// While a graph records, a block the cache gives back is kept until the
// graph is destroyed (cudaFree would wait for the GPU, and the graph may use it).
void cuda_free(void* ptr) {
  if (cuda::capturing()) {
    cuda::g_frees_after_capture.push_back(ptr);
    return;
  }
  GL_CUDA_CHECK(cudaFree(ptr));
}

void cuda_memcpy(void* dst, const void* src, size_t nbytes, CopyKind kind) {
  if (kind == CopyKind::device_to_device) {  // queued on the stream (recorded while a graph captures)
    GL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, cuda::stream()));
    return;
  }
  GL_CHECK(!cuda::capturing(),
           "a copy of {} bytes between host and GPU while a CUDA graph records (CudaGraph::capture): a recorded "
           "step may not read values back (Tensor::item, to(Device::cpu)) or upload new ones",
           nbytes);
  const cudaMemcpyKind k = kind == CopyKind::host_to_device   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::device_to_host ? cudaMemcpyDeviceToHost
                                                              : cudaMemcpyDeviceToDevice;
  GL_CUDA_CHECK(cudaMemcpy(dst, src, nbytes, k));
}

void cuda_synchronize() {
  GL_CHECK(!cuda::capturing(), "cuda_synchronize while a CUDA graph records (CudaGraph::capture)");
  if (cuda_available()) GL_CUDA_CHECK(cudaDeviceSynchronize());
}

void cuda_allow_tf32(bool on) { cuda::set_tf32(on); }
bool cuda_tf32_allowed() { return cuda::tf32(); }

}  // namespace gradlab
