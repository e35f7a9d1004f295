// The CPU kernels: one function per entry of the kernel list (tensor/backend.h,
// which gives each kernel's signature and contract). tensor/cpu/backend.cpp
// puts them in the table.
#pragma once

#include "tensor/backend.h"

namespace gradlab::cpu {

// The CPU table (tensor/cpu/backend.cpp), built into the registry.
extern const Backend kBackend;

GL_DECLARE_KERNELS()

}  // namespace gradlab::cpu
