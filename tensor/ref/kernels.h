// The reference backend's kernels: one function per entry of the kernel list
// (tensor/backend.h gives each kernel's signature and contract), written as
// plain loops to be read and to check the other backends against. The files
// of this folder define them one family each; tensor/ref/backend.cpp puts them
// in the table. They sit beside the teaching kernels of this namespace (gemm,
// layer_norm_forward, attention_forward, ...); a kernel that shares a name
// with one of those (layer_norm_backward, attention_backward) is an overload
// taking tensors instead of raw pointers.
#pragma once

#include "tensor/backend.h"

namespace gradlab::ref {

// The reference table (tensor/ref/backend.cpp), registered for Device::ref.
extern const Backend kBackend;

GL_DECLARE_KERNELS()

}  // namespace gradlab::ref
