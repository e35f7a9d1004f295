// The tiled flash attention kernels of the CUDA backend (f32 tensors; tensor
// cores optional), which tensor/cuda/attention.cu's attention entries call for
// the shapes they take; the scalar kernels there are the reference they are
// checked against (tests/cuda/test_flash_attention.cpp).
#pragma once

#include "tensor/cuda/precision.h"
#include "tensor/tensor.h"

namespace gradlab::cuda {

// Whether the flash kernels take attention on q [B, H, T, D] with this
// arithmetic: f32, 1 <= D <= 128, B * H within the grid, and the kernels'
// shared memory within what this GPU grants one block.
bool flash_attention_supported(const Tensor& q, MmaPrecision precision);

// The same contract as the kernel list's attention and attention_backward
// (tensor/backend.h): q, k, v, dout of any strides; out, lse, dq, dk, dv
// contiguous and written in full.
void flash_attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, bool causal, const Tensor& key_mask,
                             const Tensor& out, const Tensor& lse, MmaPrecision precision);
void flash_attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                              const Tensor& lse, bool causal, const Tensor& key_mask, const Tensor& dq,
                              const Tensor& dk, const Tensor& dv, MmaPrecision precision);

}  // namespace gradlab::cuda
