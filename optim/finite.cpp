// check_finite_loss (optim/finite.h).
#include "optim/finite.h"

#include <cmath>

#include "tensor/error.h"

namespace gradlab::optim {

void check_finite_loss(const Var& loss, std::string_view where, int64_t step) {
  GL_CHECK(loss.numel() == 1, "{}: the loss must be a scalar, got shape {}", where, loss.shape());
  const double v = loss.item();
  GL_CHECK(std::isfinite(v), "{}: the loss is {} at step {}; lower the learning rate or check the inputs", where, v,
           step);
}

}  // namespace gradlab::optim
