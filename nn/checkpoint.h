// Module checkpoints: a module's state dict (parameters and buffers by dotted
// name) written to and read from a safetensors file, with string metadata
// beside it (a model's configuration, a tokenizer). Loading checks the file
// against the model before changing anything and reports the first mismatch
// by name.
#pragma once

#include <map>
#include <string>

#include "nn/module.h"
#include "nn/safetensors.h"

namespace gradlab::nn {

// Atomically writes module.state_dict() and metadata to path.
void save_module(const Module& module, const std::string& path,
                 const std::map<std::string, std::string>& metadata = {});

// Reads path into module (every name must match both ways, with equal shapes
// and dtypes) and returns the file's metadata.
std::map<std::string, std::string> load_module(Module& module, const std::string& path);

}  // namespace gradlab::nn
