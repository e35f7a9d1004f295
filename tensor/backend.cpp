// The device -> backend table registry, and the names of the op enums.
#include "tensor/backend.h"

#include <atomic>

#include "tensor/cpu/kernels.h"
#include "tensor/device.h"
#include "tensor/ops.h"

namespace gradlab {

namespace {
// Filled at start-up by each backend's GL_REGISTER_BACKEND; read-only after.
const Backend*& slot(Device device) {
  static const Backend* tables[kDeviceCount] = {&cpu::kBackend};  // the CPU's is built in
  return tables[int(device)];
}
}  // namespace

bool register_backend(Device device, const Backend* table) {
  GL_CHECK(int(device) < kDeviceCount, "register_backend: unknown device {}", int(device));
  GL_CHECK(slot(device) == nullptr, "register_backend: a second {} backend ({} after {})", device, table->name,
           slot(device)->name);
  slot(device) = table;
  return true;
}

const Backend& backend(Device device) {
  GL_CHECK(int(device) < kDeviceCount, "backend: unknown device {}", int(device));
  const Backend* table = slot(device);
  if (device == Device::cuda) {
    GL_CHECK(cuda_built(),
             "CUDA tensors need a CUDA build of gradlab: this one was built without CUDA "
             "(rebuild with `make CUDA=1` on a machine with nvcc)");
    GL_CHECK(table != nullptr, "CUDA tensor requested, but no CUDA kernels are registered");
  }
  GL_CHECK(table != nullptr, "{} tensor requested, but this build has no {} backend", device, device);
  if (table->available) {
    // Asked once a device: the hardware does not come and go. 0 = not asked yet.
    static std::atomic<int> presence[kDeviceCount] = {};
    int state = presence[int(device)].load(std::memory_order_acquire);
    if (state == 0) {
      state = table->available() ? 1 : 2;
      presence[int(device)].store(state, std::memory_order_release);
    }
    GL_CHECK(state == 1, "{} tensor requested, but no GPU is present on this machine", device);
  }
  return *table;
}

bool backend_available(Device device) {
  try {
    backend(device);
    return true;
  } catch (const Error&) {
    return false;
  }
}

Device device_from_flag(std::string_view name, std::string_view flag) {
  for (int d = 0; d < kDeviceCount; ++d) {
    if (device_name(Device(d)) != name) continue;
    try {
      backend(Device(d));
    } catch (const Error& e) {
      fail("{} {}: {}", flag, name, e.what());
    }
    return Device(d);
  }
  fail("{}: unknown device '{}' (cpu, cuda or ref)", flag, name);
}

namespace {
std::atomic<uint64_t> g_to_host{0}, g_from_host{0};
}  // namespace

TransferCounts transfer_counts() { return {g_to_host.load(), g_from_host.load()}; }

void count_crossing(Device from, Device to) {
  if (from == to) return;
  if (to == Device::cpu) g_to_host.fetch_add(1, std::memory_order_relaxed);
  if (from == Device::cpu) g_from_host.fetch_add(1, std::memory_order_relaxed);
}

void check_pending_errors() {
  // A backend's check_errors returns at once when none of its checked kernels ran.
  for (int d = 0; d < kDeviceCount; ++d)
    if (const Backend* be = slot(Device(d)); be != nullptr && be->check_errors != nullptr) be->check_errors();
}

namespace {
thread_local std::string_view t_error_label;
}  // namespace

ErrorLabel::ErrorLabel(std::string_view label) : previous_(t_error_label) { t_error_label = label; }
ErrorLabel::~ErrorLabel() { t_error_label = previous_; }
std::string_view error_label() { return t_error_label; }

void check_none_bad(const Tensor& count, std::string_view what) {
  GL_CHECK(count.defined() && count.numel() == 1 && is_integral(count.dtype()),
           "check_none_bad: the count must be one integer, got {}",
           count.defined() ? fmt::format("{} {}", count.shape(), count.dtype()) : "undefined");
  if (count.device() == Device::cpu) {
    const int64_t n = count.item<int64_t>();
    GL_CHECK(n == 0, "{} ({} found)", what, n);
    return;
  }
  const ErrorLabel label(what);
  try {
    index_select(zeros({1}, DType::f32, count.device()), 0, count.reshape({1}));
  } catch (const Error&) {  // an immediate device (ref), or cuda in debug mode
    fail("{} ({} found)", what, count.item<int64_t>());
  }
}

std::vector<Device> available_devices() {
  std::vector<Device> out;
  for (int d = 0; d < kDeviceCount; ++d)
    if (backend_available(Device(d))) out.push_back(Device(d));
  return out;
}

std::string_view op_name(UnaryOp op) {
  switch (op) {
#define GL_UNARY_NAME(name, printed, ...) \
  case UnaryOp::name: return printed;
    GL_UNARY_OPS(GL_UNARY_NAME)
#undef GL_UNARY_NAME
  }
  return "?";
}

std::string_view op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::add: return "add";
    case BinaryOp::sub: return "sub";
    case BinaryOp::mul: return "mul";
    case BinaryOp::div: return "div";
    case BinaryOp::pow: return "pow";
    case BinaryOp::maximum: return "maximum";
    case BinaryOp::minimum: return "minimum";
  }
  return "?";
}

std::string_view op_name(CompareOp op) {
  switch (op) {
    case CompareOp::eq: return "eq";
    case CompareOp::ne: return "ne";
    case CompareOp::lt: return "lt";
    case CompareOp::le: return "le";
    case CompareOp::gt: return "gt";
    case CompareOp::ge: return "ge";
  }
  return "?";
}

}  // namespace gradlab
