// The exercise grader's main() and its comparison helpers (grader.h).
#include "exercises/grader.h"

#include <fmt/format.h>

#include <cmath>
#include <exception>

#include "autograd/ops.h"
#include "tensor/creation.h"
#include "tensor/error.h"

namespace gradlab::exercise {

Grader::Grader(const ExerciseInfo& info) : info_(info) {
  fmt::print("exercise {}: {}\n  statement: exercises/{}/statement.md\n", info_.name, info_.summary, info_.name);
}

void Grader::check(const std::string& name, const std::function<void()>& fn) {
  std::string failure;
  try {
    fn();
  } catch (const NotImplemented& e) {
    failure = e.what();
  } catch (const CheckFailed& e) {
    failure = e.what();
  } catch (const Error& e) {
    failure = fmt::format("your code raised gradlab::Error: {}", e.what());
  } catch (const std::exception& e) {
    failure = fmt::format("your code threw: {}", e.what());
  }
  if (failure.empty()) {
    ++passed_;
    fmt::print("  PASS  {}\n", name);
  } else {
    ++failed_;
    fmt::print("  FAIL  {}\n        {}\n", name, failure);
  }
  std::fflush(stdout);
}

int Grader::finish() const {
  const int total = passed_ + failed_;
  if (failed_ == 0) {
    fmt::print("{} of {} checks passed: exercise {} is solved.\n", passed_, total, info_.name);
    return 0;
  }
  fmt::print("{} of {} checks passed; {} failed.\n", passed_, total, failed_);
  return 1;
}

Tensor f64(std::initializer_list<double> values, const Shape& shape) { return tensor(values, shape, DType::f64); }

namespace {

// "[1, 2]" for flat index i of shape.
std::string index_text(const Shape& shape, int64_t i) {
  std::vector<int64_t> idx(size_t(shape.size()), 0);
  for (int d = shape.size() - 1; d >= 0; --d) {
    idx[size_t(d)] = shape[d] > 0 ? i % shape[d] : 0;
    i = shape[d] > 0 ? i / shape[d] : 0;
  }
  std::string text = "[";
  for (size_t d = 0; d < idx.size(); ++d) text += (d ? ", " : "") + std::to_string(idx[d]);
  return text + "]";
}

bool close(double got, double want, double atol, double rtol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::abs(got - want) <= atol + rtol * std::abs(want);
}

void compare(const std::vector<double>& got, const std::vector<double>& want, const Shape& shape,
             const std::string& what, double atol, double rtol) {
  std::string mismatches;
  int shown = 0, count = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (close(got[i], want[i], atol, rtol)) continue;
    ++count;
    if (shown < 3) {
      mismatches += fmt::format("\n          {}{} = {:.10g}, expected {:.10g} (|diff| {:.3g} > {:.3g})", what,
                                index_text(shape, int64_t(i)), got[i], want[i], std::abs(got[i] - want[i]),
                                atol + rtol * std::abs(want[i]));
      ++shown;
    }
  }
  if (count > 0) throw CheckFailed(fmt::format("{} of {} values of {} are wrong:{}", count, want.size(), what, mismatches));
}

}  // namespace

void expect(bool cond, const std::string& message) {
  if (!cond) throw CheckFailed(message);
}

void expect_close(const Tensor& got, const Tensor& want, const std::string& what, double atol, double rtol) {
  expect(got.defined(), fmt::format("{} is an undefined Tensor (return a value)", what));
  expect(got.shape() == want.shape(),
         fmt::format("{} has shape {}, expected {}", what, got.shape(), want.shape()));
  compare(got.to_vector<double>(), want.to_vector<double>(), want.shape(), what, atol, rtol);
}

void expect_close(double got, double want, const std::string& what, double atol, double rtol) {
  if (!close(got, want, atol, rtol))
    throw CheckFailed(fmt::format("{} = {:.10g}, expected {:.10g} (|diff| {:.3g} > {:.3g})", what, got, want,
                                  std::abs(got - want), atol + rtol * std::abs(want)));
}

void expect_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what,
                  double atol, double rtol) {
  expect(got.size() == want.size(),
         fmt::format("{} has {} values, expected {}", what, got.size(), want.size()));
  compare(got, want, Shape{int64_t(want.size())}, what, atol, rtol);
}

void expect_gradcheck(const std::function<Var(const Vars&)>& f, const std::vector<Tensor>& inputs,
                      const std::string& what, const GradcheckOptions& options) {
  const GradcheckResult r = gradcheck_at(f, inputs, options);
  if (!r.ok)
    throw CheckFailed(fmt::format("{}: the gradient disagrees with central differences (largest error {:.3g}):\n{}",
                                  what, r.max_error, r.message));
}

std::vector<Tensor> library_vjp(const std::function<Var(const Vars&)>& f, const std::vector<Tensor>& inputs,
                                const Tensor& cotangent) {
  Vars leaves;
  for (const Tensor& x : inputs) leaves.push_back(Var::leaf(x.clone()));
  f(leaves).backward(cotangent);
  std::vector<Tensor> grads;
  for (const Var& v : leaves) grads.push_back(v.grad().defined() ? v.grad() : zeros_like(v.value()));
  return grads;
}

}  // namespace gradlab::exercise

int main() {
  gradlab::exercise::Grader g(kExercise);
  try {
    grade(g);
  } catch (const std::exception& e) {
    fmt::print("  FAIL  the grader could not continue: {}\n", e.what());
    return 1;
  }
  return g.finish();
}
