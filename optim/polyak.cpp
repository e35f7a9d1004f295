// polyak_update: checks that the two parameter lists pair up, then blends each
// target tensor toward its source in place (see optim/polyak.h).
#include "optim/polyak.h"

#include "tensor/ops.h"

namespace gradlab::optim {

void polyak_update(const std::vector<Var>& target, const std::vector<Var>& source, double tau) {
  GL_CHECK(tau >= 0 && tau <= 1, "polyak_update: tau must be in [0, 1], got {}", tau);
  GL_CHECK(target.size() == source.size(), "polyak_update: {} target parameters but {} source parameters",
           target.size(), source.size());
  for (size_t i = 0; i < target.size(); ++i) {  // check all before changing any
    GL_CHECK(target[i].defined() && source[i].defined(), "polyak_update: parameter {} is an undefined Var", i);
    const Tensor &t = target[i].value(), &s = source[i].value();
    GL_CHECK(t.shape() == s.shape(), "polyak_update: parameter {}: target shape {} but source shape {}", i, t.shape(),
             s.shape());
    GL_CHECK(t.dtype() == s.dtype(), "polyak_update: parameter {}: target dtype {} but source dtype {}", i, t.dtype(),
             s.dtype());
    GL_CHECK(is_floating(t.dtype()), "polyak_update: parameter {} must be f32 or f64, got {}", i, t.dtype());
    GL_CHECK(t.device() == s.device(), "polyak_update: parameter {}: target on {} but source on {}", i, t.device(),
             s.device());
  }
  NoGradGuard no_grad;
  for (size_t i = 0; i < target.size(); ++i) {
    Tensor t = target[i].value();
    t.copy_(t * (1.0 - tau) + source[i].value() * tau);
  }
}

}  // namespace gradlab::optim
