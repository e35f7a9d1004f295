// The grader every exercise links: it runs the exercise's named checks (hand-
// worked cases, gradient checks against central differences, comparisons with
// the library), prints PASS or FAIL for each with the reason, and exits 1 when
// any check failed. Each exercises/NAME/grade.cpp defines kExercise and
// grade(); grader.cpp holds main().
//
// A check fails by throwing: CheckFailed (from the expect_* helpers below),
// NotImplemented (the blank's body), gradlab::Error (bad input reached an op)
// or any other exception; the grader catches each and goes on to the next.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "tensor/tensor.h"

namespace gradlab::exercise {

// Thrown by the blank body of every exercise: the student has not written it yet.
struct NotImplemented : std::logic_error {
  explicit NotImplemented(const std::string& function)
      : std::logic_error(function + " is not implemented yet (its body still throws NotImplemented)") {}
};
// Thrown by the expect_* helpers when a check does not hold.
struct CheckFailed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ExerciseInfo {
  const char* name;     // the folder under exercises/
  const char* summary;  // one line: what is computed
};

class Grader {
 public:
  explicit Grader(const ExerciseInfo& info);
  // Runs one check; a throw from fn is a failure, reported with its message.
  void check(const std::string& name, const std::function<void()>& fn);
  // Prints the tally; 0 when every check passed, 1 otherwise.
  int finish() const;

 private:
  ExerciseInfo info_;
  int passed_ = 0, failed_ = 0;
};

// f64 tensor from values (shape {} means 1-D), for hand-worked cases.
Tensor f64(std::initializer_list<double> values, const Shape& shape = {});

// got and want agree elementwise: |got - want| <= atol + rtol |want| (both
// defined, same shape; compared in f64). `what` names the quantity in the
// failure message, which gives the first elements that differ.
void expect_close(const Tensor& got, const Tensor& want, const std::string& what, double atol = 1e-9,
                  double rtol = 1e-7);
void expect_close(double got, double want, const std::string& what, double atol = 1e-9, double rtol = 1e-7);
void expect_close(const std::vector<double>& got, const std::vector<double>& want, const std::string& what,
                  double atol = 1e-9, double rtol = 1e-7);
// f's gradients (through whatever backward the exercise wired in) agree with
// central differences at these f64 inputs.
void expect_gradcheck(const std::function<Var(const Vars&)>& f, const std::vector<Tensor>& inputs,
                      const std::string& what, const GradcheckOptions& options = {});
// Throws CheckFailed(message) unless cond.
void expect(bool cond, const std::string& message);

// The gradient of sum(cotangent * f(inputs)) with respect to each input,
// through the library's own autograd: what an exercise's backward must match.
std::vector<Tensor> library_vjp(const std::function<Var(const Vars&)>& f, const std::vector<Tensor>& inputs,
                                const Tensor& cotangent);

}  // namespace gradlab::exercise

// Defined by each exercise's grade.cpp.
extern const gradlab::exercise::ExerciseInfo kExercise;
void grade(gradlab::exercise::Grader& g);
