// Entries of the fused cross-entropy kernels: check shapes, dtypes and devices,
// allocate the results, then dispatch once to the device's kernel. The target
// values (< C) are checked by the kernel, which reads them anyway.
#include "tensor/fused_losses.h"

#include "tensor/backend.h"

namespace gradlab {

namespace {

// logits [N, C] floating with C > 0, target [N] i64 on the same device.
void check_logits_target(const Tensor& logits, const Tensor& target) {
  GL_CHECK(logits.defined(), "cross_entropy: logits are undefined");
  GL_CHECK(target.defined(), "cross_entropy: target is undefined");
  GL_CHECK(is_floating(logits.dtype()), "cross_entropy: logits must be f32 or f64, got {}", logits.dtype());
  GL_CHECK(logits.dim() == 2, "cross_entropy: logits must be [N, C], got shape {}", logits.shape());
  GL_CHECK(logits.size(1) > 0, "cross_entropy: logits of shape {} have no classes", logits.shape());
  GL_CHECK(target.dtype() == DType::i64, "cross_entropy: target must be i64, got {}", target.dtype());
  GL_CHECK(target.shape() == Shape{logits.size(0)},
           "cross_entropy: target of shape {} should be [{}] for logits of shape {}", target.shape(), logits.size(0),
           logits.shape());
  GL_CHECK(target.device() == logits.device(), "cross_entropy: target is on {} but logits are on {}", target.device(),
           logits.device());
}

// A per-row tensor of the backward ([N], the logits' dtype and device).
void check_row_tensor(const Tensor& t, const Tensor& logits, std::string_view what) {
  GL_CHECK(t.defined(), "cross_entropy_backward: {} is undefined", what);
  GL_CHECK(t.shape() == Shape{logits.size(0)} && t.dtype() == logits.dtype() && t.device() == logits.device(),
           "cross_entropy_backward: {} should be [{}] {} on {} for logits of shape {}, got {} {} on {}", what,
           logits.size(0), logits.dtype(), logits.device(), logits.shape(), t.shape(), t.dtype(), t.device());
}

}  // namespace

CrossEntropyForward cross_entropy_forward(const Tensor& logits, const Tensor& target) {
  check_logits_target(logits, target);
  const int64_t n = logits.size(0);
  CrossEntropyForward r{Tensor::empty({n}, logits.dtype(), logits.device()),
                        Tensor::empty({n}, logits.dtype(), logits.device())};
  if (n == 0) return r;
  kernel(&Backend::cross_entropy, logits.device(), "cross_entropy")(logits, target, r.loss, r.lse);
  return r;
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse, const Tensor& dloss) {
  check_logits_target(logits, target);
  check_row_tensor(lse, logits, "lse");
  check_row_tensor(dloss, logits, "dloss");
  Tensor dlogits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  if (logits.numel() == 0) return dlogits;
  kernel(&Backend::cross_entropy_backward, logits.device(), "cross_entropy")(logits, target, lse, dloss, dlogits);
  return dlogits;
}

}  // namespace gradlab
