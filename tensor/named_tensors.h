// NamedTensors: tensors with names, in order, the form state is saved and
// loaded in (a module's state dict, an optimiser's moments, a checkpoint's
// contents). Here, below nn/ and optim/, so that each can use it without the other.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace gradlab {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

}  // namespace gradlab
