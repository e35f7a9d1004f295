// CUDA bias_activation: the add and the activation as this backend's own
// kernels, two or three launches queued on the stream
// (tensor/bias_activation_passes.h). Not fused yet.
#include "tensor/bias_activation_passes.h"
#include "tensor/cuda/kernels.h"

namespace gradlab::cuda {

GL_BIAS_ACTIVATION_BY_PASSES()

}  // namespace gradlab::cuda
