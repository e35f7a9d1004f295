// The CUDA kernels: one function per entry of the kernel list (tensor/backend.h,
// which gives each kernel's signature and contract), the twins of tensor/cpu/'s.
// tensor/cuda/backend.cpp puts them in the table and registers it. Every kernel
// runs on the one stream (check.h).
#pragma once

#include "tensor/backend.h"

namespace gradlab::cuda {

// The CUDA table (tensor/cuda/backend.cpp).
extern const Backend kBackend;

GL_DECLARE_KERNELS()

}  // namespace gradlab::cuda
