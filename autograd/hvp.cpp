// Hessian-vector products by central differences of gradients, and the two
// inverse-HVP solvers built on them: conjugate gradients and the LiSSA
// recursion. Lists of tensors are vectors here: the helpers below add, scale
// and dot them element by element of the list.
#include "autograd/hvp.h"

#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "tensor/ops.h"

namespace gradlab {

namespace {

using Tensors = std::vector<Tensor>;

// <a, b> summed over the list, accumulated in f64: the per-tensor sums are
// added in list order on the tensors' device (the same f64 additions, in the
// same order, as a host loop). dot_on_device keeps it there (0-d f64, a
// non-empty list); dot reads it, one number per dot product.
Tensor dot_on_device(const Tensors& a, const Tensors& b) {
  Tensor s;
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor term = sum(mul(a[i].to(DType::f64), b[i].to(DType::f64)));
    s = s.defined() ? add(s, term.to(s.device())) : term;
  }
  return s;
}
double dot(const Tensors& a, const Tensors& b) {
  const Tensor s = dot_on_device(a, b);
  return s.defined() ? s.item<double>() : 0.0;
}
double norm2(const Tensors& a) { return std::sqrt(dot(a, a)); }

// a + alpha b, element by element of the list.
Tensors axpy(const Tensors& a, double alpha, const Tensors& b) {
  Tensors out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = add(a[i], mul(b[i], alpha));
  return out;
}
Tensors scaled(const Tensors& a, double alpha) {
  Tensors out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = mul(a[i], alpha);
  return out;
}

// The unit roundoff of a floating dtype: half the gap between 1 and the next number.
double unit_roundoff(DType dt) {
  return dt == DType::f32 ? std::numeric_limits<float>::epsilon() / 2 : std::numeric_limits<double>::epsilon() / 2;
}

void check_params_and_v(const std::vector<Var>& params, const Tensors& v) {
  GL_CHECK(!params.empty(), "hvp: no parameters given");
  GL_CHECK(v.size() == params.size(), "hvp: {} direction tensors for {} parameters (one per parameter)", v.size(),
           params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Var& p = params[i];
    GL_CHECK(p.defined(), "hvp: parameter {} is an undefined Var", i);
    GL_CHECK(p.is_leaf(), "hvp: parameter {} (shape {}) was made by '{}'; only leaf Vars can be perturbed", i,
             p.shape(), p.node()->op->name);
    GL_CHECK(p.requires_grad(), "hvp: parameter {} (shape {}) does not require a gradient", i, p.shape());
    for (size_t j = 0; j < i; ++j)
      GL_CHECK(params[j].impl() != p.impl(), "hvp: parameters {} and {} are the same Var", j, i);
    GL_CHECK(v[i].defined(), "hvp: direction {} is an undefined tensor", i);
    GL_CHECK(v[i].shape() == p.shape(), "hvp: direction {} has shape {} but parameter {} has shape {}", i, v[i].shape(),
             i, p.shape());
    GL_CHECK(v[i].dtype() == p.dtype(), "hvp: direction {} has dtype {} but parameter {} has dtype {}", i, v[i].dtype(),
             i, p.dtype());
    GL_CHECK(v[i].device() == p.device(), "hvp: direction {} is on {} but parameter {} is on {}", i,
             device_name(v[i].device()), i, device_name(p.device()));
  }
}

// The gradient of loss_fn() with respect to params at their current values
// (zeros for a param the loss does not reach).
Tensors gradient(const std::function<Var()>& loss_fn, const std::vector<Var>& params) {
  for (const Var& p : params) p.zero_grad();
  Var loss;
  {
    EnableGradGuard recording;
    loss = loss_fn();
  }
  GL_CHECK(loss.defined(), "hvp: loss_fn returned an undefined Var");
  GL_CHECK(loss.numel() == 1, "hvp: loss_fn returned a Var of shape {}; it must return one element (a loss)",
           loss.shape());
  GL_CHECK(loss.requires_grad(), "hvp: the loss does not depend on any parameter that requires a gradient");
  loss.backward();
  Tensors g(params.size());
  for (size_t i = 0; i < params.size(); ++i)
    g[i] = params[i].grad().defined() ? params[i].grad() : zeros_like(params[i].value());
  return g;
}

// cbrt(u), u the unit roundoff of the coarsest param dtype, and the params' values.
double cbrt_roundoff(const std::vector<Var>& params) {
  double u = 0;
  for (const Var& p : params) u = std::max(u, unit_roundoff(p.dtype()));
  return std::cbrt(u);
}
Tensors values_of(const std::vector<Var>& params) {
  Tensors theta(params.size());
  for (size_t i = 0; i < params.size(); ++i) theta[i] = params[i].value();
  return theta;
}

// hvp()'s step and the quotient's factor 1 / (2 eps), as 0-d f64 tensors on
// the params' device, so that a device never waits for them.
struct Step {
  Tensor eps, inv_two_eps;
};
// A given eps, or the default one computed on the host (it reads |v| and
// |theta|; on the CPU that costs nothing).
Step host_step(double eps, Device device) {
  return {full({}, eps, DType::f64, device), full({}, 1.0 / (2 * eps), DType::f64, device)};
}
// The default step with the same f64 operations on the device, read by no
// one: where v = 0 both are 0 (theta is not moved and the product is 0).
Step device_step(const std::vector<Var>& params, const Tensors& v) {
  const Tensor v_norm = sqrt(dot_on_device(v, v));
  const Tensors theta = values_of(params);
  const Tensor theta_norm = sqrt(dot_on_device(theta, theta));
  const Tensor eps = div(mul(add(theta_norm, 1.0), cbrt_roundoff(params)), v_norm);
  const Tensor moved = gt(v_norm, 0.0), zero = zeros({}, DType::f64, v_norm.device());
  return {where(moved, eps, zero), where(moved, div(ones({}, DType::f64, v_norm.device()), mul(eps, 2.0)), zero)};
}
}  // namespace

double hvp_default_eps(const std::vector<Var>& params, const Tensors& v) {
  check_params_and_v(params, v);
  const double v_norm = norm2(v);
  if (v_norm == 0) return 0;
  return cbrt_roundoff(params) * (1 + norm2(values_of(params))) / v_norm;
}

Tensors hvp(const std::function<Var()>& loss_fn, const std::vector<Var>& params, const Tensors& v, double eps) {
  check_params_and_v(params, v);
  GL_CHECK(std::isfinite(eps) && eps >= 0, "hvp: eps must be finite and >= 0 (0 chooses it), got {}", eps);
  // The default step on a device is computed there (nothing read back); on
  // the CPU, or with parameters on several devices, on the host.
  const Device device = params[0].device();
  bool one_device = device != Device::cpu;
  for (const Var& p : params) one_device = one_device && p.device() == device;
  Step step;
  if (eps == 0 && one_device) {
    step = device_step(params, v);
  } else {
    if (eps == 0) eps = hvp_default_eps(params, v);
    if (eps == 0) {  // v = 0, so H v = 0
      Tensors zero(v.size());
      for (size_t i = 0; i < v.size(); ++i) zero[i] = zeros_like(v[i]);
      return zero;
    }
    step = host_step(eps, device);
  }

  // What must come back exactly: the values (copied) and the grads (their
  // tensors: backward writes into a leaf's grad only when nothing else holds
  // it, and these handles hold it).
  Tensors theta(params.size()), saved_grads(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    theta[i] = params[i].value().clone();
    saved_grads[i] = params[i].grad();
  }
  auto restore = [&] {
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor value = params[i].value();  // a handle onto the param's storage
      value.copy_(theta[i]);
      params[i].set_grad(saved_grads[i]);
    }
  };
  // The gradient at theta + sign eps v (eps, like every scalar, in the params' dtype).
  auto gradient_at = [&](double sign) {
    const Tensor signed_eps = sign > 0 ? step.eps : neg(step.eps);
    for (size_t i = 0; i < params.size(); ++i) {
      Tensor value = params[i].value();
      value.copy_(add(theta[i], mul(v[i], signed_eps.to(v[i].dtype()).to(v[i].device()))));
    }
    return gradient(loss_fn, params);
  };

  Tensors plus, minus;
  try {
    plus = gradient_at(1);
    minus = gradient_at(-1);
  } catch (...) {
    restore();
    throw;
  }
  restore();
  // (g+ - g-) / (2 eps)
  Tensors out = axpy(plus, -1.0, minus);
  for (Tensor& t : out) t = mul(t, step.inv_two_eps.to(t.dtype()).to(t.device()));
  return out;
}

namespace {

void check_solver_input(const char* solver, const Tensors& b, double lambda) {
  GL_CHECK(!b.empty(), "{}: b is an empty list", solver);
  for (size_t i = 0; i < b.size(); ++i) {
    GL_CHECK(b[i].defined(), "{}: b[{}] is an undefined tensor", solver, i);
    GL_CHECK(is_floating(b[i].dtype()), "{}: b[{}] has dtype {}; expected f32 or f64", solver, i, b[i].dtype());
  }
  GL_CHECK(std::isfinite(lambda) && lambda >= 0, "{}: lambda must be finite and >= 0, got {}", solver, lambda);
}

// (H + lambda I) x, checking that the operator kept the shapes.
Tensors apply(const char* solver, const HvpOperator& hvp, const Tensors& x, double lambda) {
  Tensors hx = hvp(x);
  GL_CHECK(hx.size() == x.size(), "{}: the operator returned {} tensors for {} (it must keep the list's length)",
           solver, hx.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    GL_CHECK(hx[i].defined(), "{}: the operator returned an undefined tensor {}", solver, i);
    GL_CHECK(hx[i].shape() == x[i].shape() && hx[i].dtype() == x[i].dtype(),
             "{}: the operator returned tensor {} of shape {} and dtype {} for one of shape {} and dtype {}", solver, i,
             hx[i].shape(), hx[i].dtype(), x[i].shape(), x[i].dtype());
  }
  return lambda == 0 ? hx : axpy(hx, lambda, x);
}

}  // namespace

Tensors conjugate_gradient(const HvpOperator& hvp, const Tensors& b, double lambda, int max_iters, double tol,
                           SolveReport* report) {
  check_solver_input("conjugate_gradient", b, lambda);
  GL_CHECK(max_iters >= 0, "conjugate_gradient: max_iters must be >= 0, got {}", max_iters);
  GL_CHECK(tol >= 0, "conjugate_gradient: tol must be >= 0, got {}", tol);
  // Hestenes-Stiefel CG from x = 0: r = b - A x, p the A-conjugate direction.
  Tensors x(b.size());
  for (size_t i = 0; i < b.size(); ++i) x[i] = zeros_like(b[i]);
  Tensors r = b, p = b;
  const double b_norm = norm2(b);
  double rr = b_norm * b_norm;
  // The step sizes stay on the device as 0-d f64 tensors (the same f64
  // arithmetic as host numbers, each rounded to the vectors' dtype where it
  // scales them); an iteration reads back p.Ap and r.r together, once.
  Tensor rr_t = full({}, rr, DType::f64, b[0].device());
  const auto scale_by = [](const Tensors& a, const Tensor& alpha) {
    Tensors out(a.size());
    for (size_t i = 0; i < a.size(); ++i) out[i] = mul(a[i], alpha.to(a[i].dtype()).to(a[i].device()));
    return out;
  };
  const auto plus = [](const Tensors& a, const Tensors& b) {
    Tensors out(a.size());
    for (size_t i = 0; i < a.size(); ++i) out[i] = add(a[i], b[i]);
    return out;
  };
  int it = 0;
  while (it < max_iters && std::sqrt(rr) > tol * b_norm) {
    const Tensors ap = apply("conjugate_gradient", hvp, p, lambda);
    const Tensor pap = dot_on_device(p, ap);
    const Tensor alpha = div(rr_t, pap);
    x = plus(x, scale_by(p, alpha));
    r = plus(r, scale_by(ap, neg(alpha)));
    const Tensor rr_next = dot_on_device(r, r);
    p = plus(r, scale_by(p, div(rr_next, rr_t)));
    const std::vector<double> read =
        concat({pap.reshape({1}), rr_next.reshape({1}).to(pap.device())}).to_vector<double>();
    GL_CHECK(read[0] > 0,
             "conjugate_gradient: direction of non-positive curvature (p^T (H + lambda I) p = {:.3g} at iteration "
             "{}, lambda = {}); H + lambda I must be positive definite, so raise lambda",
             read[0], it, lambda);
    rr = read[1];
    rr_t = rr_next;
    ++it;
  }
  if (report != nullptr) {
    report->iterations = it;
    report->residual_norm = std::sqrt(rr);
    report->relative_residual = b_norm > 0 ? std::sqrt(rr) / b_norm : 0;
    report->converged = std::sqrt(rr) <= tol * b_norm;
  }
  return x;
}

Tensors lissa(const HvpOperator& hvp, const Tensors& b, double lambda, double scale, int depth, int repeats,
              SolveReport* report) {
  check_solver_input("lissa", b, lambda);
  GL_CHECK(std::isfinite(scale) && scale > 0,
           "lissa: scale must be positive (larger than the top eigenvalue of H + lambda I), got {}", scale);
  GL_CHECK(depth >= 1, "lissa: depth must be >= 1, got {}", depth);
  GL_CHECK(repeats >= 1, "lissa: repeats must be >= 1, got {}", repeats);
  Tensors total;
  for (int rep = 0; rep < repeats; ++rep) {
    Tensors x = b;
    for (int j = 0; j < depth; ++j) {
      // x_j = b + x_{j-1} - (H + lambda I) x_{j-1} / scale
      const Tensors ax = apply("lissa", hvp, x, lambda);
      x = axpy(axpy(b, 1.0, x), -1.0 / scale, ax);
    }
    total = rep == 0 ? x : axpy(total, 1.0, x);
  }
  if (report != nullptr) {
    *report = SolveReport{};
    report->iterations = depth;
  }
  return scaled(total, 1.0 / (scale * repeats));
}

}  // namespace gradlab
