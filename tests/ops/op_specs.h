// The op-spec table: every op of gradlab described once, in the spirit of
// PyTorch's OpInfo and ggml's test-backend-ops. An OpSpec names the op (its
// GL_OP name when it has one), the kernels of GL_KERNEL_LIST it exercises, the
// public functions of the tensor headers it covers, its sample inputs, a
// device-agnostic forward, its tolerances per dtype, and its gradient spec (a
// link to the GL_OP whose GL_GRADCHECK specs apply, or "not differentiable").
// tests/ops/test_op_specs.cpp runs every spec on every backend against the
// reference backend, runs the linked gradient checks, compares CUDA with the
// CPU, times the forwards, and fails for any op, kernel or public function
// that the table does not describe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tensor/ops.h"

namespace gradlab::op_specs {

// |result - oracle| <= atol + rtol |oracle|, elementwise. {0, 0} demands equal values.
struct Tol {
  double atol = 0, rtol = 0;
};

// One input of a sample, made once on the CPU. `base` holds the values; `view`
// (when set) turns the tensor that reached the run's device and dtype into the
// strided, transposed or expanded view the op receives, so that every backend
// sees the same layout. A value input is converted to the run's dtype; a fixed
// one (indices, masks, targets) keeps its own.
struct SampleInput {
  Tensor base;
  bool fixed = false;
  std::function<Tensor(const Tensor&)> view{};
  std::string layout = "contiguous";
};

// The scalar parameters a sample passes to its op; each spec's forward says
// which it reads and what they mean there.
struct Args {
  Axes axes{};          // reductions
  int64_t axis = -1;    // ops along one axis
  int64_t k = 1;        // topk, num_classes...
  bool flag = false;    // keepdim, descending, largest, causal, approximation...
  double a = 0, b = 0;  // scalar parameters (bounds, exponent, probability, eps...)
};

struct Sample {
  std::string label;
  std::vector<SampleInput> inputs;
  Args args{};
  bool perf_only = false;       // a larger case, run only by the perf table
  std::vector<DType> dtypes{};  // when set, the only run dtypes of this sample (NaN has no integer)
};

// What a forward receives: the sample's inputs on the run's device (value
// inputs in the run's dtype), its arguments, and the device and dtype, for ops
// that make tensors from nothing (random numbers, fills).
struct Call {
  const std::vector<Tensor>& x;
  const Args& args;
  Device device;
  DType dtype;
  std::vector<bool> fixed;  // per input: an index, mask or target (never differentiated)
};
using Outputs = std::vector<Tensor>;
using ForwardFn = std::function<Outputs(const Call&)>;

// What the results of a run are compared with.
enum class Oracle {
  // The op on the reference backend in f64, on the run's inputs converted to
  // f64 (after their rounding to the run's dtype): measures the kernel's own
  // rounding only. Integer and b8 runs compare with the reference backend in
  // their own dtype, exactly.
  f64,
  // The reference backend in the run's own dtype: for ops whose result depends
  // on the dtype beyond rounding (random streams, dropout masks), which every
  // backend must reproduce.
  same_dtype,
};

struct OpSpec {
  std::string name;                    // the GL_OP name when the op has one
  std::vector<std::string> kernels;    // names from GL_KERNEL_LIST
  std::vector<std::string> functions;  // public functions of the tensor headers it covers
  std::vector<DType> dtypes;           // run dtypes (value inputs are converted to each)
  std::vector<Sample> samples;
  ForwardFn forward;
  Tol f32{}, f64{};  // for floating outputs; integer and b8 outputs must be equal
  Oracle oracle = Oracle::f64;
  // True: `name` is a GL_OP, and its GL_GRADCHECK specs are this op's gradient
  // checks. False: the op is not differentiable, for the reason given.
  bool differentiable = false;
  std::string not_differentiable_because{};
};

// The table, built once.
const std::vector<OpSpec>& op_spec_table();

// Public functions of the headers the table covers (tensor/ops.h,
// fused_layers.h, fused_losses.h, optim_kernels.h, random.h) that are not ops
// of their own, each with the reason.
struct NotAnOp {
  std::string function, reason;
};
const std::vector<NotAnOp>& functions_not_ops();

// The headers whose public functions the table must cover.
const std::vector<std::string>& covered_headers();

// Every kernel name of GL_KERNEL_LIST, in its order.
const std::vector<std::string>& kernel_names();

// Moves a sample's inputs to `device`, value inputs to `dtype` (after rounding
// them to `rounded_through`, the run's dtype, when the oracle asks for it), and
// applies their views.
std::vector<Tensor> materialize(const Sample& sample, Device device, DType dtype, DType rounded_through);
// Runs spec.forward on the sample, on `device` in `dtype`.
Outputs run_forward(const OpSpec& spec, const Sample& sample, Device device, DType dtype);
// The oracle's outputs for a run in `dtype` (see Oracle).
Outputs run_oracle(const OpSpec& spec, const Sample& sample, DType dtype, Device oracle_device);

}  // namespace gradlab::op_specs
