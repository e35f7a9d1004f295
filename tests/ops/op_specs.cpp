// The op-spec table (tests/ops/op_specs.h): one entry per op of gradlab, each
// with its kernels, public functions, samples, forward, tolerances and
// gradient link, written by family in tests/ops/specs_*.cpp (a new op adds its
// entry to its family's file: autograd/README.md, "Adding an op"); here the
// families are put together, with the lists the coverage checks read.
#include "tests/ops/op_specs.h"

#include "tests/ops/spec_builders.h"

namespace gradlab::op_specs {

namespace {

// The families in a fixed order: the samples are drawn from one stream in this order.
std::vector<OpSpec> build_table() {
  build::TableBuilder t;
  build::add_elementwise_specs(t);
  build::add_reduce_specs(t);
  build::add_layer_specs(t);
  build::add_memory_specs(t);
  return std::move(t.specs);
}

}  // namespace

const std::vector<OpSpec>& op_spec_table() {
  static const std::vector<OpSpec> table = build_table();
  return table;
}

const std::vector<NotAnOp>& functions_not_ops() {
  static const std::vector<NotAnOp> list = {
      {"derive_seed", "splits a seed; no tensor"},
      {"default_generator", "the thread's generator; no tensor"},
      {"manual_seed", "seeds the thread's generator; no tensor"},
      {"philox4x32_10", "one Philox block: what every random spec's streams are made of"},
      {"philox_block", "one Philox block: what every random spec's streams are made of"},
      {"philox_uniform_f32", "element i of a stream: what uniform and dropout compute"},
      {"philox_uniform_f64", "element i of a stream: what uniform and dropout compute"},
      {"philox_uniform", "element i of a stream: what uniform and dropout compute"},
      {"philox_normal", "element i of a normal stream: what normal computes"},
      {"box_muller", "a pair of uniforms to a normal: what normal computes"},
      {"philox_randint", "element i of a randint stream: what randint computes"},
      {"dropout_blocks", "how many Philox blocks a dropout mask reads; no tensor"},
      {"empty_like", "uninitialised memory: no values to compare"},
      {"uniform01", "a scalar host draw, no tensor (its stream is pinned in tests/tensor/test_random.cpp)"},
      {"uniform_int", "a scalar host draw, no tensor (its stream is pinned in tests/tensor/test_random.cpp)"},
      {"shuffle", "shuffles a host array, no tensor (its draws are pinned in tests/tensor/test_random.cpp)"},
      {"choose_front", "picks k entries of a host array, no tensor (checked in tests/tensor/test_random.cpp)"},
  };
  return list;
}

const std::vector<std::string>& covered_headers() {
  static const std::vector<std::string> headers = {"tensor/ops.h",           "tensor/creation.h",
                                                   "tensor/fused_layers.h",  "tensor/fused_losses.h",
                                                   "tensor/optim_kernels.h", "tensor/random.h"};
  return headers;
}

const std::vector<std::string>& kernel_names() {
  static const std::vector<std::string> names = {
#define GL_KERNEL_NAME(k) #k,
      GL_KERNEL_LIST(GL_KERNEL_NAME)
#undef GL_KERNEL_NAME
  };
  return names;
}

std::vector<Tensor> materialize(const Sample& sample, Device device, DType dtype, DType rounded_through) {
  std::vector<Tensor> out;
  for (const SampleInput& in : sample.inputs) {
    Tensor t = in.fixed ? in.base : in.base.to(rounded_through).to(dtype);
    t = t.to(device);
    out.push_back(in.view ? in.view(t) : t);
  }
  return out;
}

namespace {
std::vector<bool> fixed_flags(const Sample& sample) {
  std::vector<bool> fixed;
  for (const SampleInput& in : sample.inputs) fixed.push_back(in.fixed);
  return fixed;
}
}  // namespace

Outputs run_forward(const OpSpec& spec, const Sample& sample, Device device, DType dtype) {
  const std::vector<Tensor> x = materialize(sample, device, dtype, dtype);
  return spec.forward(Call{x, sample.args, device, dtype, fixed_flags(sample)});
}

Outputs run_oracle(const OpSpec& spec, const Sample& sample, DType dtype, Device oracle_device) {
  const DType oracle_dtype = spec.oracle == Oracle::f64 && is_floating(dtype) ? DType::f64 : dtype;
  const std::vector<Tensor> x = materialize(sample, oracle_device, oracle_dtype, dtype);
  return spec.forward(Call{x, sample.args, oracle_device, oracle_dtype, fixed_flags(sample)});
}

}  // namespace gradlab::op_specs
