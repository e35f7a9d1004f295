// The builders the op-spec table is written with (tests/ops/op_specs.h): the
// tolerances counted in roundings, the sample inputs (one Philox stream, drawn
// in table order), autograd forwards that return values and gradients, and the
// shared shapes of a unary, binary and comparison spec. Each family of specs
// (tests/ops/specs_*.cpp) adds its entries with them; tests/ops/op_specs.cpp
// calls the families in a fixed order, so the samples are the same every run.
#pragma once

#include <cmath>

#include "autograd/ops.h"
#include "tensor/fused_layers.h"
#include "tensor/fused_losses.h"
#include "tensor/optim_kernels.h"
#include "tensor/unary_ops.h"
#include "tests/ops/op_specs.h"

namespace gradlab::op_specs::build {

// ---------------------------------------------------------------- tolerances
//
// Tolerances are counted in units u of the dtype's rounding (2^-24 for f32,
// 2^-53 for f64). An f32 run is compared with the f64 oracle computed from the
// same f32-rounded inputs, so the difference is the f32 kernel's own error (the
// oracle's is 2^-29 of it). An f64 run is compared with another f64
// implementation, so both kernels' errors count: the f64 bound is doubled.
// Inputs are O(1) (|x| <= 6 unless a spec says otherwise), so absolute bounds
// below are in units of u times the magnitude of the terms involved.
constexpr double kU32 = 0x1p-24, kU64 = 0x1p-53;

struct Ulps {
  double atol, rtol;
};
inline void set_tolerance(OpSpec& spec, Ulps ulps) {
  spec.f32 = {ulps.atol * kU32, ulps.rtol * kU32};
  spec.f64 = {2 * ulps.atol * kU64, 2 * ulps.rtol * kU64};
}
// Each result is a few correctly rounded operations on exact inputs (neg, add,
// a product and a quotient of the gradient's chain rule): at most 4 roundings
// of relative size u, and an absolute u for the results that cancel to near 0.
constexpr Ulps kFewRoundings{4, 4};
// Library functions chained two or three deep: tensor/vec_math.h's f32 exp
// (1.5 ulp), log (1.5), log1p (2), tanh (3), erfc (a few), each also carried
// through the gradient's formula (sigmoid' = y (1 - y), gelu' = Phi + x phi):
// 16 u relative, and 16 u absolute where the result is a difference of O(1)
// terms (x sigmoid(x) near 0, 1 - tanh^2 near +-1).
constexpr Ulps kFunctions{16, 16};
// A sum of at most n terms, each of magnitude at most `scale` (reductions,
// dot products, the gradients of broadcasting): the forward error bound of
// recursive summation in any order, (n - 1) u sum |x_i| <= (n - 1) n scale u,
// on top of a few roundings of what comes after.
constexpr Ulps sum_of(int n, double scale) { return {(n - 1) * n * scale + 16, 16}; }
constexpr Ulps kExact{0, 0};

// ---------------------------------------------------------------- samples
//
// Sample inputs come from one Philox stream, in table order, so the table is
// the same in every run.
inline Generator& sample_generator() {
  static Generator gen(20261204);
  return gen;
}

inline SampleInput values(const Shape& shape, double lo = -1, double hi = 1) {
  return {uniform(shape, lo, hi, sample_generator(), DType::f64)};
}
// The values as the transpose of a contiguous [.., n, m] tensor: strides (1, m).
inline SampleInput transposed(const Shape& shape, double lo = -1, double hi = 1) {
  Shape base = shape;
  std::swap(base[base.size() - 1], base[base.size() - 2]);
  return {uniform(base, lo, hi, sample_generator(), DType::f64), false, [](const Tensor& t) { return t.mT(); },
          "transposed"};
}
// Every other element of the last axis of a tensor twice as long: stride 2.
inline SampleInput strided(const Shape& shape, double lo = -1, double hi = 1) {
  Shape base = shape;
  const int64_t n = shape.back();
  base[base.size() - 1] = 2 * n;
  return {uniform(base, lo, hi, sample_generator(), DType::f64), false,
          [n](const Tensor& t) { return t.slice(-1, 0, 2 * n, 2); }, "strided"};
}
// A [from] tensor expanded (stride 0) to [to].
inline SampleInput expanded(const Shape& from, const Shape& to, double lo = -1, double hi = 1) {
  return {uniform(from, lo, hi, sample_generator(), DType::f64), false, [to](const Tensor& t) { return t.expand(to); },
          "expanded"};
}
inline SampleInput given(const std::vector<double>& v, const Shape& shape) { return {from_vector(v, shape)}; }
// Fixed inputs keep their dtype: indices, masks, targets.
inline SampleInput indices(const std::vector<int64_t>& v, const Shape& shape, DType dtype = DType::i64) {
  return {from_vector(v, shape).to(dtype), true};
}
inline SampleInput random_indices(const Shape& shape, int64_t lo, int64_t hi, DType dtype = DType::i64) {
  return {randint(lo, hi, shape, sample_generator(), dtype), true};
}
inline SampleInput mask(const std::vector<int64_t>& bits, const Shape& shape) {
  return {ne(from_vector(bits, shape), 0.0), true};
}
inline SampleInput fixed_values(const std::vector<double>& v, const Shape& shape) {
  return {from_vector(v, shape), true};
}
// A symmetric matrix, made symmetric in f64 so that every dtype rounds it symmetrically.
inline SampleInput symmetric(int64_t n) {
  const Tensor a = uniform({n, n}, -1, 1, sample_generator(), DType::f64);
  return {mul(add(a, a.mT()), 0.5)};
}

inline Sample sample(std::string label, std::vector<SampleInput> inputs, Args args = {}) {
  return {std::move(label), std::move(inputs), std::move(args)};
}
inline Sample perf_sample(std::string label, std::vector<SampleInput> inputs, Args args = {}) {
  return {std::move(label), std::move(inputs), std::move(args), true};
}
// A sample run in f32 and f64 only: NaN or infinities, which no integer holds.
inline Sample floats_only(Sample s) {
  s.dtypes = {DType::f32, DType::f64};
  return s;
}
inline Args axes_args(Axes axes, bool keepdim = false) {
  Args a;
  a.axes = std::move(axes);
  a.flag = keepdim;
  return a;
}
inline Args axis_args(int64_t axis, bool flag = false, int64_t k = 1) {
  Args a;
  a.axis = axis;
  a.flag = flag;
  a.k = k;
  return a;
}
inline Args scalar_args(double a_value, double b_value = 0) {
  Args a;
  a.a = a_value;
  a.b = b_value;
  return a;
}

// ---------------------------------------------------------------- forwards

// A cotangent of y's shape, the same values in every floating dtype and on
// every device: cos(0.37 i + 0.1) rounded to f32 (so that an f32 run and its
// f64 oracle differentiate with the same numbers), i the C-order index.
inline Tensor cotangent(const Tensor& y) {
  std::vector<double> v(size_t(y.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(float(std::cos(0.37 * double(i) + 0.1)));
  return from_vector(v, Shape{y.numel()}).reshape(y.shape()).to(y.dtype()).to(y.device());
}

// Through autograd: f on Vars (leaves for the floating value inputs), then
// backward from the first result with a fixed cotangent. Returns the results'
// values, then each leaf's gradient (undefined where none reached it), so that
// the backward kernels are compared across backends too. Runs with recording
// off (the perf table) and integer runs give the values only.
using VarFn = std::function<std::vector<Var>(const std::vector<Var>&)>;
inline Outputs value_and_grads(const Call& c, const VarFn& f) {
  std::vector<Var> vars;
  std::vector<size_t> leaves;
  for (size_t i = 0; i < c.x.size(); ++i) {
    const bool leaf = grad_enabled() && !c.fixed[i] && is_floating(c.x[i].dtype());
    vars.push_back(leaf ? Var::leaf(c.x[i]) : Var(c.x[i]));
    if (leaf) leaves.push_back(i);
  }
  const std::vector<Var> ys = f(vars);
  Outputs out;
  for (const Var& y : ys) out.push_back(y.value());
  if (ys.empty() || !ys[0].requires_grad()) return out;
  ys[0].backward(cotangent(ys[0].value()));
  for (size_t i : leaves) out.push_back(vars[i].grad());
  return out;
}
inline Outputs value_and_grads(const Call& c, const std::function<Var(const std::vector<Var>&)>& f) {
  return value_and_grads(c, VarFn([&](const std::vector<Var>& v) { return std::vector<Var>{f(v)}; }));
}

// The words of a GL_UNARY_OPS row (tensor/unary_ops.h).
enum class UnaryDTypes { any, floating };
enum class UnaryCost { cheap, transcendental };

inline const std::vector<DType> kFloats = {DType::f32, DType::f64};
inline const std::vector<DType> kNumeric = {DType::f32, DType::f64, DType::i32, DType::i64};
inline const std::vector<DType> kAllDTypes = {DType::f32, DType::f64, DType::i32, DType::i64, DType::b8};

inline Reduction reduction_of(int64_t k) {
  return k == 0 ? Reduction::mean : (k == 1 ? Reduction::sum : Reduction::none);
}
inline Var maybe(const std::vector<Var>& v, size_t i) { return i < v.size() ? v[i] : Var(); }

// ---------------------------------------------------------------- the table

struct TableBuilder {
  std::vector<OpSpec> specs;
  OpSpec& add(OpSpec spec, Ulps ulps) {
    set_tolerance(spec, ulps);
    specs.push_back(std::move(spec));
    return specs.back();
  }
};

// A unary op: the UnaryOp kernels forward and backward, the op on a
// contiguous, a transposed, a strided, a size-0 and a 0-d input within [lo, hi].
inline void unary_op(TableBuilder& t, const std::string& name, std::vector<std::string> functions, double lo, double hi,
                     std::vector<DType> dtypes, std::function<Var(const Var&, const Args&)> f, Ulps ulps,
                     std::vector<Args> args = {Args{}}, bool mirrored = false) {
  functions.push_back("unary_grad");
  std::vector<Sample> samples;
  for (const Args& a : args) {
    const std::string with = args.size() > 1 ? fmt::format(" (a {}, b {})", a.a, a.b) : "";
    samples.push_back(sample("[3, 4]" + with, {values({3, 4}, lo, hi)}, a));
    samples.push_back(sample("transposed [5, 3]" + with, {transposed({5, 3}, lo, hi)}, a));
  }
  if (mirrored) samples.push_back(sample("[3, 4] of negatives", {values({3, 4}, -hi, -lo)}, args[0]));
  samples.push_back(sample("strided [2, 7]", {strided({2, 7}, lo, hi)}, args[0]));
  samples.push_back(sample("size 0", {values({0, 3}, lo, hi)}, args[0]));
  samples.push_back(sample("0-d", {values({}, lo, hi)}, args[0]));
  samples.push_back(perf_sample("[512, 1024]", {values({512, 1024}, lo, hi)}, args[0]));
  t.add({.name = name,
         .kernels = {"unary", "unary_backward"},
         .functions = std::move(functions),
         .dtypes = std::move(dtypes),
         .samples = std::move(samples),
         .forward =
             [f](const Call& c) {
               return value_and_grads(c, [&](const std::vector<Var>& v) { return f(v[0], c.args); });
             },
         .differentiable = true},
        ulps);
}

// A binary op: same shapes, broadcast, transposed against strided, a 0-d
// operand, size 0; `extra` adds the op's scalar and operator forms.
inline void binary_op(TableBuilder& t, const std::string& name, std::vector<std::string> functions, double lo,
                      double hi, std::vector<DType> dtypes, std::function<Var(const Var&, const Var&)> f,
                      std::function<Outputs(const Tensor&, const Tensor&)> extra, Ulps ulps,
                      std::vector<Sample> more_samples = {}) {
  std::vector<Sample> samples = {
      sample("[3, 4] and [3, 4]", {values({3, 4}, lo, hi), values({3, 4}, lo, hi)}),
      sample("broadcast [4, 1, 5] and [3, 5]", {values({4, 1, 5}, lo, hi), values({3, 5}, lo, hi)}),
      sample("transposed and strided", {transposed({4, 3}, lo, hi), strided({4, 3}, lo, hi)}),
      sample("expanded and 0-d", {expanded({1, 6}, {3, 6}, lo, hi), values({}, lo, hi)}),
      sample("size 0 and [3]", {values({0, 3}, lo, hi), values({3}, lo, hi)}),
      perf_sample("[512, 1024] and [1024]", {values({512, 1024}, lo, hi), values({1024}, lo, hi)}),
  };
  for (Sample& s : more_samples) samples.push_back(std::move(s));
  t.add({.name = name,
         .kernels = {"binary", "reduce"},
         .functions = std::move(functions),
         .dtypes = std::move(dtypes),
         .samples = std::move(samples),
         .forward =
             [f, extra](const Call& c) {
               Outputs out = value_and_grads(c, [&](const std::vector<Var>& v) { return f(v[0], v[1]); });
               for (Tensor& e : extra(c.x[0], c.x[1])) out.push_back(std::move(e));
               return out;
             },
         .differentiable = true},
        ulps);
}

// A comparison: b8 results, on every dtype, with ties.
inline void compare_op(TableBuilder& t, const std::string& name, std::function<Tensor(const Tensor&, const Tensor&)> f,
                       std::function<Tensor(const Tensor&, double)> f_scalar) {
  t.add({.name = name,
         .kernels = {"compare"},
         .functions = {name},
         .dtypes = kAllDTypes,
         .samples = {sample("broadcast [4, 1, 5] and [3, 5]", {values({4, 1, 5}, -3, 3), values({3, 5}, -3, 3)}),
                     sample("ties", {given({1, 2, 2, 4, -1, 0}, {6}), given({1, 3, 2, 4, -1, 1}, {6})}),
                     floats_only(sample("NaN", {given({1, NAN, NAN, 0}, {4}), given({NAN, 1, NAN, 0}, {4})})),
                     sample("transposed and strided", {transposed({3, 4}, -3, 3), strided({3, 4}, -3, 3)}),
                     sample("size 0", {values({2, 0}), values({1, 1})}),
                     perf_sample("[512, 1024]", {values({512, 1024}), values({512, 1024})})},
         .forward =
             [f, f_scalar](const Call& c) {
               return Outputs{f(c.x[0], c.x[1]), f_scalar(c.x[0], 0.5)};
             },
         .not_differentiable_because = "a comparison gives a b8 mask"},
        kExact);
}

// ---------------------------------------------------------------- the families
// Each in its file, called in this order by tests/ops/op_specs.cpp.

// unary ops (one per row of tensor/unary_ops.h), binary ops, comparisons and where
void add_elementwise_specs(TableBuilder& t);
// reductions and the ops along one axis (gather, scatter, index, cumsum, sort, topk, softmax, ...)
void add_reduce_specs(TableBuilder& t);
// matmul and linear, the fused layers, the losses, the activations and linear algebra
void add_layer_specs(TableBuilder& t);
// views and joins, copies and fills, random numbers and the fused optimiser step
void add_memory_specs(TableBuilder& t);

}  // namespace gradlab::op_specs::build
