// Every differentiable op, forward and backward, on CUDA against the CPU: the
// suite walks the gradcheck registry (one or more specs per op, registered
// next to each op's backward in autograd/), runs each spec's function on f64
// leaves on both devices with the same inputs and the same cotangent, and
// compares the output and every input gradient. A spec whose function builds
// its own CPU constants (index or mask tensors) cannot run on CUDA unchanged;
// those ops are listed in the output and covered by tests/cuda/test_ops.cpp
// and by the GPT test instead.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "tests/cuda/cuda_check.h"

using namespace gradlab;
using cuda_test::gpu;
using cuda_test::Tol;

namespace {
// Ops whose backward sums long products in a different order on the GPU.
Tol tolerance_for(std::string_view op) {
  static const std::set<std::string_view> sums = {"matmul",  "linear",      "attention", "sum",           "mean",
                                                  "var",     "norm",        "logsumexp", "cross_entropy", "layer_norm",
                                                  "softmax", "log_softmax", "cumsum"};
  for (std::string_view s : sums)
    if (op.find(s) != std::string_view::npos) return Tol{1e-11, 1e-9};
  return Tol{1e-12, 1e-10};
}

bool device_mismatch(const std::string& message) {
  return message.find("different devices") != std::string::npos || message.find(" is on cpu") != std::string::npos ||
         message.find("are on cpu") != std::string::npos || message.find("on cpu but") != std::string::npos;
}
}  // namespace

TEST_CASE("every registered op: CUDA forward and backward match the CPU (f64)") {
  REQUIRE_GPU_OR_SKIP();
  int ran = 0;
  std::map<std::string, int> cpu_constants;  // op -> specs that build CPU tensors
  for (const GradcheckSpec& spec : gradcheck_registry()) {
    const std::string what = fmt::format("{} [{}]", spec.op->name, spec.label);
    Generator gen(spec.options.seed);
    std::vector<Tensor> inputs;
    for (const GradInput& in : spec.inputs) inputs.push_back(uniform(in.shape, in.lo, in.hi, gen, DType::f64));
    Vars xc, xg;
    for (const Tensor& t : inputs) {
      xc.push_back(Var::leaf(t.clone()));
      xg.push_back(Var::leaf(gpu(t)));
    }
    const Var yc = spec.f(xc);
    Var yg;
    try {
      yg = spec.f(xg);
    } catch (const Error& e) {
      if (device_mismatch(e.what())) {
        ++cpu_constants[spec.op->name];
        continue;
      }
      FAIL_CHECK(what, ": CUDA raised: ", e.what());
      continue;
    }
    ++ran;
    const Tol tol = tolerance_for(spec.op->name);
    CHECK_PARITY(what + " forward", yc.value(), yg.value(), tol);
    if (!yc.requires_grad()) continue;
    Generator vgen(spec.options.seed + 99);
    const Tensor v = randn(yc.shape(), vgen, yc.dtype());
    yc.backward(v);
    yg.backward(gpu(v));
    for (size_t i = 0; i < xc.size(); ++i) {
      const Tensor gc = xc[i].grad().defined() ? xc[i].grad() : zeros_like(xc[i].value());
      const Tensor gg = xg[i].grad().defined() ? xg[i].grad() : zeros_like(xg[i].value());
      CHECK_PARITY(fmt::format("{} d input {}", what, i), gc, gg, tol);
    }
  }
  std::string listed;
  for (const auto& [op, n] : cpu_constants) listed += fmt::format(" {} ({})", op, n);
  MESSAGE(ran, " specs compared on CUDA; specs with CPU-built constants, covered elsewhere:", listed);
  CHECK(ran > int(gradlab::gradcheck_registry().size()) / 2);
}
