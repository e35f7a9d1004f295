// Central-difference gradient checks in f64, and the registry of specs.
#include "autograd/gradcheck.h"

#include <cmath>

#include "tensor/ops.h"

namespace gradlab {

namespace {
// <v, f(x)> as a double, with recording off.
double project(const std::function<Var(const Vars&)>& f, const Vars& x, const Tensor& v) {
  NoGradGuard guard;
  const Var y = f(x);
  return sum(mul(y.value().to(DType::f64), v)).item();
}
}  // namespace

GradcheckResult gradcheck_at(const std::function<Var(const Vars&)>& f, const std::vector<Tensor>& inputs,
                             const GradcheckOptions& options) {
  GL_CHECK(backend(options.device).host_memory,
           "gradcheck: perturbs its inputs in place from the host, which {} memory does not allow", options.device);
  Vars x;
  for (const Tensor& t : inputs) x.push_back(Var::leaf(t.to(DType::f64).to(options.device).clone()));
  Generator gen(options.seed + 12345);
  const Var y = f(x);
  GL_CHECK(y.dtype() == DType::f64, "gradcheck: the function returned {}, not f64", y.dtype());
  const Tensor v = randn(y.shape(), gen, DType::f64).to(y.device());
  GradcheckResult result;
  if (!y.requires_grad()) {
    result.ok = false;
    result.message = "the output does not depend on any input through a recorded op";
    return result;
  }
  y.backward(v);
  for (size_t k = 0; k < x.size(); ++k) {
    const Tensor analytic = x[k].grad().defined() ? x[k].grad() : zeros_like(x[k].value());
    const std::vector<double> a = analytic.to_vector<double>();
    Tensor value = x[k].value();  // contiguous f64, perturbed in place
    double* p = value.host_data<double>();
    for (int64_t i = 0; i < value.numel(); ++i) {
      const double orig = p[i];
      p[i] = orig + options.eps;
      value.bump_version();
      const double plus = project(f, x, v);
      p[i] = orig - options.eps;
      value.bump_version();
      const double minus = project(f, x, v);
      p[i] = orig;
      value.bump_version();
      const double numeric = (plus - minus) / (2 * options.eps);
      const double err = std::fabs(a[size_t(i)] - numeric);
      result.max_error = std::max(result.max_error, err);
      if (!(err <= options.atol + options.rtol * std::fabs(numeric))) {
        if (result.ok) result.message = fmt::format("input {} of shape {}:", k, value.shape());
        if (result.ok || result.message.size() < 300)
          result.message += fmt::format(" element {}: analytic {:.9g}, numeric {:.9g};", i, a[size_t(i)], numeric);
        result.ok = false;
      }
    }
  }
  return result;
}

GradcheckResult gradcheck(const std::function<Var(const Vars&)>& f, const std::vector<GradInput>& inputs,
                          const GradcheckOptions& options) {
  Generator gen(options.seed);
  std::vector<Tensor> xs;
  for (const GradInput& in : inputs) xs.push_back(uniform(in.shape, in.lo, in.hi, gen, DType::f64));
  return gradcheck_at(f, xs, options);
}

namespace {
std::vector<GradcheckSpec>& specs() {
  static std::vector<GradcheckSpec> all;
  return all;
}
}  // namespace

bool register_gradcheck(GradcheckSpec spec) {
  specs().push_back(std::move(spec));
  return true;
}
const std::vector<GradcheckSpec>& gradcheck_registry() { return specs(); }

}  // namespace gradlab
