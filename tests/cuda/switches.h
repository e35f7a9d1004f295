// A scope that restores the CUDA backend's switches (attention kernel, TF32,
// bf16; tensor/device.h) when a test leaves it, so that one test's choice
// never leaks into the next.
#pragma once

#include "tensor/device.h"

namespace cuda_test {

class SwitchScope {
 public:
  SwitchScope()
      : kernel_(gradlab::cuda_attention_kernel()),
        tf32_(gradlab::cuda_tf32_allowed()),
        bf16_(gradlab::cuda_bf16_allowed()) {}
  ~SwitchScope() {
    gradlab::cuda_set_attention_kernel(kernel_);
    gradlab::cuda_allow_tf32(tf32_);
    gradlab::cuda_allow_bf16(bf16_);
  }
  SwitchScope(const SwitchScope&) = delete;
  SwitchScope& operator=(const SwitchScope&) = delete;

 private:
  gradlab::CudaAttentionKernel kernel_;
  bool tf32_, bf16_;
};

}  // namespace cuda_test
