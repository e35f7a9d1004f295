// Module checkpoints over safetensors.
#include "nn/checkpoint.h"

namespace gradlab::nn {

void save_module(const Module& module, const std::string& path, const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, module.state_dict(), metadata);
}

std::map<std::string, std::string> load_module(Module& module, const std::string& path) {
  SafetensorsFile file = load_safetensors(path);
  try {
    module.load_state_dict(file.tensors, /*strict=*/true);
  } catch (const Error& e) {
    fail("load_module: '{}' does not fit the model: {}", path, e.what());
  }
  return std::move(file.metadata);
}

}  // namespace gradlab::nn
