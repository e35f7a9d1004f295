// The CUDA backend's precision and kernel switches as its kernels read them:
// which tensor-core arithmetic f32 GEMMs and flash attention use, and whether
// the attention ops take the flash kernels or the scalar reference ones. The
// public setters are in tensor/device.h; tensor/cuda/switches.cpp holds them.
#pragma once

namespace gradlab::cuda {

// How an f32 matrix product is computed: full f32 FMAs, TF32 tensor cores
// (10-bit mantissa operands), or bf16 tensor cores (7-bit mantissa operands);
// every kind sums in f32.
enum class MmaPrecision { f32, tf32, bf16 };

// bf16 when cuda_allow_bf16(true), else tf32 when cuda_allow_tf32(true), else f32.
MmaPrecision mma_precision();
const char* precision_name(MmaPrecision p);

// True unless cuda_set_attention_kernel(reference) or GRADLAB_CUDA_ATTENTION=reference.
bool flash_attention_enabled();

}  // namespace gradlab::cuda
