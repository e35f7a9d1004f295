// The helpers every influence estimator shares: parameters as one flat f64
// vector [P] (gradients flattened in parameter order, and split back into
// tensors of the parameters' shapes), per-example gradients g_m = d l_m / d theta
// by one backward pass per example, checks of a Problem and of row indices,
// and saving/restoring parameter values. Flat vectors and gradient tables live
// on the parameters' device: nothing here copies to or from the host.
#include "algorithms/influence/influence.h"

#include <unordered_set>

#include "autograd/node.h"
#include "autograd/ops.h"

namespace gradlab::influence {

int64_t parameter_count(const std::vector<Var>& params) {
  int64_t total = 0;
  for (const Var& p : params) total += p.numel();
  return total;
}

Tensor flatten(const std::vector<Tensor>& tensors) {
  GL_CHECK(!tensors.empty(), "influence::flatten: an empty list of tensors");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    GL_CHECK(tensors[i].defined(), "influence::flatten: tensor {} is undefined", i);
    GL_CHECK(tensors[i].device() == tensors[0].device(), "influence::flatten: tensor {} is on {} but tensor 0 on {}", i,
             tensors[i].device(), tensors[0].device());
    parts.push_back(tensors[i].to(DType::f64).reshape({-1}));
  }
  return concat(parts).contiguous();
}

std::vector<Tensor> unflatten(const Tensor& flat, const std::vector<Var>& params) {
  const int64_t total = parameter_count(params);
  GL_CHECK(flat.defined() && flat.dim() == 1 && flat.numel() == total,
           "influence::unflatten: a flat vector of shape {} for {} parameter elements (want [{}])",
           flat.defined() ? flat.shape() : Shape{}, total, total);
  std::vector<Tensor> out;
  out.reserve(params.size());
  int64_t start = 0;
  for (const Var& p : params) {
    const int64_t n = p.numel();
    out.push_back(flat.slice(0, start, start + n).contiguous().reshape(p.shape()).to(p.dtype()).to(p.device()));
    start += n;
  }
  return out;
}

Tensor flat_gradient(const Var& loss, const std::vector<Var>& params) {
  GL_CHECK(loss.defined(), "influence::flat_gradient: the loss is an undefined Var");
  GL_CHECK(loss.numel() == 1, "influence::flat_gradient: the loss has shape {}; it must hold one element",
           loss.shape());
  GL_CHECK(!params.empty(), "influence::flat_gradient: no parameters given");
  std::vector<Tensor> saved_grads(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    saved_grads[i] = params[i].grad();
    params[i].zero_grad();
  }
  auto put_back = [&] {
    for (size_t i = 0; i < params.size(); ++i) {
      if (saved_grads[i].defined())
        params[i].set_grad(saved_grads[i]);
      else
        params[i].zero_grad();
    }
  };
  std::vector<Tensor> grads(params.size());
  try {
    if (loss.requires_grad()) reshape(loss, Shape{}).backward();
    for (size_t i = 0; i < params.size(); ++i)
      grads[i] = params[i].grad().defined() ? params[i].grad()
                                            : zeros(params[i].shape(), DType::f64, params[i].value().device());
  } catch (...) {
    put_back();
    throw;
  }
  put_back();
  return flatten(grads);
}

Tensor example_gradients(const Problem& problem, const std::vector<int64_t>& rows) {
  check_problem(problem, "influence::example_gradients");
  check_rows(problem, rows, "influence::example_gradients");
  const int64_t P = parameter_count(problem.params);
  Tensor out = zeros({int64_t(rows.size()), P}, DType::f64, problem_device(problem));
  EnableGradGuard recording;
  for (size_t k = 0; k < rows.size(); ++k) {
    const Var losses = problem.example_losses({rows[k]});
    GL_CHECK(losses.defined() && losses.numel() == 1,
             "influence::example_gradients: example_losses of one row (row {}) returned shape {}; want [1]", rows[k],
             losses.defined() ? losses.shape() : Shape{});
    out.select(0, int64_t(k)).copy_(flat_gradient(losses, problem.params));
  }
  return out;
}

void check_problem(const Problem& problem, const std::string& op) {
  GL_CHECK(!problem.params.empty(), "{}: the problem has no parameters", op);
  for (size_t i = 0; i < problem.params.size(); ++i) {
    const Var& p = problem.params[i];
    GL_CHECK(p.defined(), "{}: parameter {} is an undefined Var", op, i);
    GL_CHECK(p.is_leaf(), "{}: parameter {} (shape {}) was made by an op; influence needs leaf Vars", op, i,
             p.shape());
    GL_CHECK(p.requires_grad(), "{}: parameter {} (shape {}) does not require a gradient", op, i, p.shape());
    GL_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64, "{}: parameter {} has dtype {}; want f32 or f64", op,
             i, p.dtype());
    GL_CHECK(p.value().device() == problem.params[0].value().device(),
             "{}: parameter {} (shape {}) is on {} but parameter 0 on {}; the estimators compute on one device, so "
             "all parameters must live on it",
             op, i, p.shape(), p.value().device(), problem.params[0].value().device());
  }
  std::unordered_set<const VarImpl*> seen;
  for (size_t i = 0; i < problem.params.size(); ++i)
    GL_CHECK(seen.insert(problem.params[i].impl().get()).second, "{}: parameter {} appears twice in the list", op, i);
  GL_CHECK(problem.n_train > 0, "{}: the problem has n_train = {}; want at least one training example", op,
           problem.n_train);
  GL_CHECK(bool(problem.example_losses), "{}: the problem has no example_losses function", op);
  GL_CHECK(problem.batch_size > 0, "{}: batch_size must be positive, got {}", op, problem.batch_size);
}

Device problem_device(const Problem& problem) {
  GL_CHECK(!problem.params.empty() && problem.params[0].defined(),
           "influence::problem_device: the problem has no parameters");
  return problem.params[0].value().device();
}

void check_rows(const Problem& problem, const std::vector<int64_t>& rows, const std::string& op) {
  for (size_t k = 0; k < rows.size(); ++k)
    GL_CHECK(rows[k] >= 0 && rows[k] < problem.n_train,
             "{}: training example {} (position {}) is out of range for n_train = {}", op, rows[k], k,
             problem.n_train);
}

std::vector<Tensor> snapshot(const std::vector<Var>& params) {
  std::vector<Tensor> values;
  values.reserve(params.size());
  for (const Var& p : params) values.push_back(p.value().clone());
  return values;
}

void restore(const std::vector<Var>& params, const std::vector<Tensor>& values) {
  GL_CHECK(values.size() == params.size(), "influence::restore: {} saved tensors for {} parameters", values.size(),
           params.size());
  for (size_t i = 0; i < params.size(); ++i)
    GL_CHECK(values[i].defined() && values[i].shape() == params[i].shape(),
             "influence::restore: saved tensor {} has shape {} but parameter {} has shape {}", i,
             values[i].defined() ? values[i].shape() : Shape{}, i, params[i].shape());
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor value = params[i].value();  // a handle onto the parameter's storage: views see the write
    value.copy_(values[i]);
  }
}

}  // namespace gradlab::influence
