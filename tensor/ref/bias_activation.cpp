// Reference bias_activation: the add and the activation as this backend's own
// kernels, one after the other (tensor/bias_activation_passes.h).
#include "tensor/bias_activation_passes.h"
#include "tensor/ref/kernels.h"

namespace gradlab::ref {

GL_BIAS_ACTIVATION_BY_PASSES()

}  // namespace gradlab::ref
