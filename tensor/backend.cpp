// The device -> kernel table registry, and the names of the op enums.
#include "tensor/backend.h"

#include "tensor/cpu/kernels.h"
#include "tensor/device.h"

namespace gradlab {

namespace {
const Backend* g_cuda_backend = nullptr;
}

void register_backend(Device device, const Backend* table) {
  GL_CHECK(device == Device::cuda, "register_backend: the CPU table is built in");
  g_cuda_backend = table;
}

const Backend& backend(Device device) {
  if (device == Device::cpu) return cpu::kBackend;
  GL_CHECK(cuda_built(),
           "CUDA tensors need a CUDA build of gradlab: this one was built without CUDA "
           "(rebuild with `make CUDA=1` on a machine with nvcc)");
  static const bool available = cuda_available();
  GL_CHECK(available, "CUDA tensor requested, but no GPU is present on this machine");
  GL_CHECK(g_cuda_backend != nullptr, "CUDA tensor requested, but no CUDA kernels are registered");
  return *g_cuda_backend;
}

std::string_view op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg: return "neg";
    case UnaryOp::abs: return "abs";
    case UnaryOp::sign: return "sign";
    case UnaryOp::exp: return "exp";
    case UnaryOp::log: return "log";
    case UnaryOp::log1p: return "log1p";
    case UnaryOp::sqrt: return "sqrt";
    case UnaryOp::rsqrt: return "rsqrt";
    case UnaryOp::square: return "square";
    case UnaryOp::tanh: return "tanh";
    case UnaryOp::sigmoid: return "sigmoid";
    case UnaryOp::relu: return "relu";
    case UnaryOp::gelu_tanh: return "gelu(tanh)";
    case UnaryOp::gelu_erf: return "gelu";
    case UnaryOp::silu: return "silu";
    case UnaryOp::softplus: return "softplus";
    case UnaryOp::clamp: return "clamp";
    case UnaryOp::pow_scalar: return "pow";
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
