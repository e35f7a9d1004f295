// The op-spec table (tests/ops/op_specs.h): one entry per op of gradlab, each
// with its kernels, public functions, samples, forward, tolerances and
// gradient link. A new op adds its entry here (autograd/README.md, "Adding an op").
#include "tests/ops/op_specs.h"

#include <cmath>

#include "autograd/ops.h"
#include "tensor/fused_layers.h"
#include "tensor/fused_losses.h"
#include "tensor/optim_kernels.h"
#include "tensor/unary_ops.h"

namespace gradlab::op_specs {

namespace {

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
void set_tolerance(OpSpec& spec, Ulps ulps) {
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
Generator& sample_generator() {
  static Generator gen(20261204);
  return gen;
}

SampleInput values(const Shape& shape, double lo = -1, double hi = 1) {
  return {uniform(shape, lo, hi, sample_generator(), DType::f64)};
}
// The values as the transpose of a contiguous [.., n, m] tensor: strides (1, m).
SampleInput transposed(const Shape& shape, double lo = -1, double hi = 1) {
  Shape base = shape;
  std::swap(base[base.size() - 1], base[base.size() - 2]);
  return {uniform(base, lo, hi, sample_generator(), DType::f64), false, [](const Tensor& t) { return t.mT(); },
          "transposed"};
}
// Every other element of the last axis of a tensor twice as long: stride 2.
SampleInput strided(const Shape& shape, double lo = -1, double hi = 1) {
  Shape base = shape;
  const int64_t n = shape.back();
  base[base.size() - 1] = 2 * n;
  return {uniform(base, lo, hi, sample_generator(), DType::f64), false,
          [n](const Tensor& t) { return t.slice(-1, 0, 2 * n, 2); }, "strided"};
}
// A [from] tensor expanded (stride 0) to [to].
SampleInput expanded(const Shape& from, const Shape& to, double lo = -1, double hi = 1) {
  return {uniform(from, lo, hi, sample_generator(), DType::f64), false, [to](const Tensor& t) { return t.expand(to); },
          "expanded"};
}
SampleInput given(const std::vector<double>& v, const Shape& shape) { return {from_vector(v, shape)}; }
// Fixed inputs keep their dtype: indices, masks, targets.
SampleInput indices(const std::vector<int64_t>& v, const Shape& shape, DType dtype = DType::i64) {
  return {from_vector(v, shape).to(dtype), true};
}
SampleInput random_indices(const Shape& shape, int64_t lo, int64_t hi, DType dtype = DType::i64) {
  return {randint(lo, hi, shape, sample_generator(), dtype), true};
}
SampleInput mask(const std::vector<int64_t>& bits, const Shape& shape) {
  return {ne(from_vector(bits, shape), 0.0), true};
}
SampleInput fixed_values(const std::vector<double>& v, const Shape& shape) { return {from_vector(v, shape), true}; }
// A symmetric matrix, made symmetric in f64 so that every dtype rounds it symmetrically.
SampleInput symmetric(int64_t n) {
  const Tensor a = uniform({n, n}, -1, 1, sample_generator(), DType::f64);
  return {mul(add(a, a.mT()), 0.5)};
}

Sample sample(std::string label, std::vector<SampleInput> inputs, Args args = {}) {
  return {std::move(label), std::move(inputs), std::move(args)};
}
Sample perf_sample(std::string label, std::vector<SampleInput> inputs, Args args = {}) {
  return {std::move(label), std::move(inputs), std::move(args), true};
}
// A sample run in f32 and f64 only: NaN or infinities, which no integer holds.
Sample floats_only(Sample s) {
  s.dtypes = {DType::f32, DType::f64};
  return s;
}
Args axes_args(Axes axes, bool keepdim = false) {
  Args a;
  a.axes = std::move(axes);
  a.flag = keepdim;
  return a;
}
Args axis_args(int64_t axis, bool flag = false, int64_t k = 1) {
  Args a;
  a.axis = axis;
  a.flag = flag;
  a.k = k;
  return a;
}
Args scalar_args(double a_value, double b_value = 0) {
  Args a;
  a.a = a_value;
  a.b = b_value;
  return a;
}

// ---------------------------------------------------------------- forwards

// A cotangent of y's shape, the same values in every floating dtype and on
// every device: cos(0.37 i + 0.1) rounded to f32 (so that an f32 run and its
// f64 oracle differentiate with the same numbers), i the C-order index.
Tensor cotangent(const Tensor& y) {
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
Outputs value_and_grads(const Call& c, const VarFn& f) {
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
Outputs value_and_grads(const Call& c, const std::function<Var(const std::vector<Var>&)>& f) {
  return value_and_grads(c, VarFn([&](const std::vector<Var>& v) { return std::vector<Var>{f(v)}; }));
}

// The words of a GL_UNARY_OPS row (tensor/unary_ops.h).
enum class UnaryDTypes { any, floating };
enum class UnaryCost { cheap, transcendental };

const std::vector<DType> kFloats = {DType::f32, DType::f64};
const std::vector<DType> kNumeric = {DType::f32, DType::f64, DType::i32, DType::i64};
const std::vector<DType> kAllDTypes = {DType::f32, DType::f64, DType::i32, DType::i64, DType::b8};

Reduction reduction_of(int64_t k) { return k == 0 ? Reduction::mean : (k == 1 ? Reduction::sum : Reduction::none); }
Var maybe(const std::vector<Var>& v, size_t i) { return i < v.size() ? v[i] : Var(); }

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
void unary_op(TableBuilder& t, const std::string& name, std::vector<std::string> functions, double lo, double hi,
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
void binary_op(TableBuilder& t, const std::string& name, std::vector<std::string> functions, double lo, double hi,
               std::vector<DType> dtypes, std::function<Var(const Var&, const Var&)> f,
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
void compare_op(TableBuilder& t, const std::string& name, std::function<Tensor(const Tensor&, const Tensor&)> f,
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

std::vector<OpSpec> build_table() {
  TableBuilder t;

  // ---- unary: one spec per row of GL_UNARY_OPS_PLAIN (tensor/unary_ops.h),
  // over the row's input range (away from kinks and poles) and, for the rows
  // that take integers (defined on both signs), its mirror image too. Cheap
  // rows round a few times; transcendental rows chain library functions.
#define GL_UNARY_SPEC(name, printed, functor, grad, dtypes, cost, args, lo, hi)                  \
  unary_op(                                                                                      \
      t, printed, {#name}, lo, hi, UnaryDTypes::dtypes == UnaryDTypes::any ? kNumeric : kFloats, \
      [](const Var& x, const Args&) { return name(x); },                                         \
      UnaryCost::cost == UnaryCost::cheap ? kFewRoundings : kFunctions, {Args{}},                \
      UnaryDTypes::dtypes == UnaryDTypes::any && lo > 0);
  GL_UNARY_OPS_PLAIN(GL_UNARY_SPEC)
#undef GL_UNARY_SPEC
  // The rows with a variant or parameters, by hand.
  unary_op(
      t, "gelu", {"gelu"}, -4, 4, kFloats, [](const Var& x, const Args&) { return gelu(x); }, kFunctions);
  unary_op(
      t, "gelu(tanh)", {}, -4, 4, kFloats, [](const Var& x, const Args&) { return gelu(x, true); }, kFunctions);
  // a = beta, b = threshold: beta 2, threshold 3 takes the linear branch for x > 1.5.
  unary_op(t, "softplus", {"softplus"}, -6, 6, kFloats,
           [](const Var& x, const Args& a) { return softplus(x, a.a, a.b); }, kFunctions,
           {scalar_args(1, 20), scalar_args(2, 3)});
  // a = lo, b = hi; bounds exact in every dtype so that each backend compares the same numbers.
  unary_op(t, "clamp", {"clamp"}, -3, 3, kNumeric, [](const Var& x, const Args& a) { return clamp(x, a.a, a.b); },
           kFewRoundings, {scalar_args(-0.5, 1.0), scalar_args(-2, 2)});
  // a = exponent; positive inputs for a fractional exponent.
  unary_op(t, "pow(x, p)", {"pow"}, 0.2, 3, kFloats, [](const Var& x, const Args& a) { return pow(x, a.a); },
           kFunctions, {scalar_args(2.5), scalar_args(2.0), scalar_args(-1.5)});

  // ---- binary (autograd/elementwise.cpp); the scalar and operator forms ride along
  binary_op(
      t, "add", {"add", "operator+", "scalar_like"}, -3, 3, kNumeric, [](const Var& a, const Var& b) { return a + b; },
      [](const Tensor& a, const Tensor& b) {
        return Outputs{add(a, b), add(a, 2.0), a + 2.0, 2.0 + a, scalar_like(2.0, a)};
      },
      sum_of(4, 1));
  binary_op(
      t, "sub", {"sub", "operator-"}, -3, 3, kNumeric, [](const Var& a, const Var& b) { return a - b; },
      [](const Tensor& a, const Tensor& b) {
        return Outputs{sub(a, b), sub(a, 2.0), a - 2.0, 2.0 - a, -a};
      },
      sum_of(4, 1));
  binary_op(
      t, "mul", {"mul", "operator*"}, -3, 3, kNumeric, [](const Var& a, const Var& b) { return a * b; },
      [](const Tensor& a, const Tensor& b) {
        return Outputs{mul(a, b), mul(a, 2.0), a * 2.0, 2.0 * a};
      },
      sum_of(4, 3));
  binary_op(
      t, "div", {"div", "operator/"}, 0.5, 2, kFloats, [](const Var& a, const Var& b) { return a / b; },
      [](const Tensor& a, const Tensor& b) {
        return Outputs{div(a, b), div(a, 2.0), a / 2.0, 2.0 / a};
      },
      sum_of(4, 8));
  binary_op(
      t, "pow", {"pow"}, 0.5, 2, kFloats, [](const Var& a, const Var& b) { return pow(a, b); },
      [](const Tensor&, const Tensor&) { return Outputs{}; }, sum_of(4, 8));
  // Ties send half the gradient each way; NaN propagates.
  const std::vector<Sample> ties = {
      sample("ties", {given({1, 2, 2, 4, -1, 0}, {6}), given({1, 3, 2, 0, -1, 1}, {6})}),
      floats_only(sample("NaN", {given({1, NAN, 2, NAN}, {4}), given({NAN, 0, 3, NAN}, {4})}))};
  binary_op(
      t, "maximum", {"maximum"}, -3, 3, kNumeric, [](const Var& a, const Var& b) { return maximum(a, b); },
      [](const Tensor& a, const Tensor&) { return Outputs{maximum(a, 0.5)}; }, sum_of(4, 1), ties);
  binary_op(
      t, "minimum", {"minimum"}, -3, 3, kNumeric, [](const Var& a, const Var& b) { return minimum(a, b); },
      [](const Tensor& a, const Tensor&) { return Outputs{minimum(a, 0.5)}; }, sum_of(4, 1), ties);

  // ---- comparisons (b8 masks; no autograd op)
  compare_op(
      t, "eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); },
      [](const Tensor& a, double b) { return eq(a, b); });
  compare_op(
      t, "ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); },
      [](const Tensor& a, double b) { return ne(a, b); });
  compare_op(
      t, "lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); },
      [](const Tensor& a, double b) { return lt(a, b); });
  compare_op(
      t, "le", [](const Tensor& a, const Tensor& b) { return le(a, b); },
      [](const Tensor& a, double b) { return le(a, b); });
  compare_op(
      t, "gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); },
      [](const Tensor& a, double b) { return gt(a, b); });
  compare_op(
      t, "ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); },
      [](const Tensor& a, double b) { return ge(a, b); });

  // ---- where: a b8 condition broadcast with both branches
  t.add(
      {.name = "where",
       .kernels = {"where", "reduce"},
       .functions = {"where"},
       .dtypes = kAllDTypes,
       .samples = {sample("broadcast [3, 1], [3, 4], [4]",
                          {mask({1, 0, 1}, {3, 1}), values({3, 4}, -3, 3), values({4}, -3, 3)}),
                   sample("strided branches", {mask({1, 0, 0, 1, 1, 0}, {2, 3}), strided({2, 3}), transposed({2, 3})}),
                   sample("size 0", {mask({}, {0}), values({2, 0}), values({1})}),
                   perf_sample("[512, 1024]",
                               {SampleInput{gt(rand({512, 1024}, sample_generator(), DType::f64), 0.5), true},
                                values({512, 1024}), values({1024})})},
       .forward =
           [](const Call& c) {
             return value_and_grads(c, [](const std::vector<Var>& v) { return where(v[0].value(), v[1], v[2]); });
           },
       .differentiable = true},
      sum_of(3, 1));

  // ---- reductions (autograd/reduce.cpp); args.axes, args.flag = keepdim
  const auto reduction_samples = [](double lo, double hi) {
    return std::vector<Sample>{
        sample("all axes of [3, 4, 5]", {values({3, 4, 5}, lo, hi)}),
        sample("axis 1, keepdim", {values({3, 4, 5}, lo, hi)}, axes_args({1}, true)),
        sample("axes 0 and 2", {values({3, 4, 5}, lo, hi)}, axes_args({0, 2})),
        sample("axis -1 of a transposed view", {transposed({4, 6}, lo, hi)}, axes_args({-1})),
        sample("axis 0 of a strided view", {strided({5, 3}, lo, hi)}, axes_args({0})),
        sample("a 0-d tensor", {values({}, lo, hi)}),
        perf_sample("axis 1 of [512, 1024]", {values({512, 1024}, lo, hi)}, axes_args({1})),
    };
  };
  {
    std::vector<Sample> s = reduction_samples(-3, 3);
    s.push_back(sample("size 0 axis", {values({0, 4})}, axes_args({0})));
    s.push_back(sample("b8-friendly zeros", {given({0, 1, 0, 2, 0, -1}, {2, 3})}, axes_args({1})));
    // sum_to: the gradient of broadcasting, onto the shape the keepdim sum has.
    t.add({.name = "sum",
           .kernels = {"reduce"},
           .functions = {"sum", "sum_to"},
           .dtypes = kAllDTypes,
           .samples = std::move(s),
           .forward =
               [](const Call& c) {
                 Outputs out =
                     value_and_grads(c, [&](const std::vector<Var>& v) { return sum(v[0], c.args.axes, c.args.flag); });
                 out.push_back(sum_to(c.x[0], sum(c.x[0], c.args.axes, true).shape()));
                 return out;
               },
           .differentiable = true},
          sum_of(60, 3));
  }
  {
    std::vector<Sample> s = reduction_samples(-3, 3);
    t.add({.name = "mean",
           .kernels = {"reduce", "binary"},
           .functions = {"mean"},
           .dtypes = kFloats,
           .samples = s,
           .forward =
               [](const Call& c) {
                 return value_and_grads(
                     c, [&](const std::vector<Var>& v) { return mean(v[0], c.args.axes, c.args.flag); });
               },
           .differentiable = true},
          sum_of(60, 3));
  }
  for (const std::string name : {"max", "min"}) {
    std::vector<Sample> s = reduction_samples(-3, 3);
    s.push_back(sample("ties share the gradient", {given({1, 3, 3, 0, 2, 2}, {2, 3})}, axes_args({1})));
    const bool is_max = name == "max";
    t.add({.name = name,
           .kernels = {"reduce", "compare"},
           .functions = {name},
           .dtypes = kNumeric,
           .samples = std::move(s),
           .forward =
               [is_max](const Call& c) {
                 return value_and_grads(c, [&](const std::vector<Var>& v) {
                   return is_max ? max(v[0], c.args.axes, c.args.flag) : min(v[0], c.args.axes, c.args.flag);
                 });
               },
           .differentiable = true},
          sum_of(4, 1));
  }
  {
    // args.k = the correction (1 unbiased, 0 population); no 0-d sample (one
    // element has no unbiased variance).
    std::vector<Sample> s;
    for (Sample& r : reduction_samples(-3, 3))
      if (r.inputs[0].base.dim() > 0) s.push_back(std::move(r));
    Args population = axes_args({2});
    population.k = 0;
    s.push_back(sample("population variance over axis 2", {values({3, 4, 5}, -3, 3)}, population));
    t.add({.name = "var",
           .kernels = {"reduce", "binary"},
           .functions = {"var"},
           .dtypes = kFloats,
           .samples = std::move(s),
           .forward =
               [](const Call& c) {
                 return value_and_grads(
                     c, [&](const std::vector<Var>& v) { return var(v[0], c.args.axes, c.args.flag, c.args.k); });
               },
           .differentiable = true},
          sum_of(60, 9));
  }
  {
    std::vector<Sample> s = reduction_samples(-3, 3);
    s.push_back(
        floats_only(sample("a -inf entry", {given({0, -INFINITY, 1, 2, -INFINITY, 0.5}, {2, 3})}, axes_args({1}))));
    t.add({.name = "logsumexp",
           .kernels = {"reduce", "unary", "binary"},
           .functions = {"logsumexp"},
           .dtypes = kFloats,
           .samples = std::move(s),
           .forward =
               [](const Call& c) {
                 return value_and_grads(
                     c, [&](const std::vector<Var>& v) { return logsumexp(v[0], c.args.axes, c.args.flag); });
               },
           .differentiable = true},
          sum_of(60, 3));
  }
  {
    // args.a = p (a = 0 means the default 2); inputs away from 0, where |x| has its kink.
    std::vector<Sample> s = reduction_samples(0.2, 2);
    for (double p : {1.0, 3.0, double(INFINITY)}) {
      Args a = axes_args({1});
      a.a = p;
      s.push_back(sample(fmt::format("p {} over axis 1", p), {values({3, 4}, 0.2, 2)}, a));
    }
    t.add({.name = "norm",
           .kernels = {"reduce", "unary", "binary"},
           .functions = {"norm"},
           .dtypes = kFloats,
           .samples = std::move(s),
           .forward =
               [](const Call& c) {
                 const double p = c.args.a == 0 ? 2.0 : c.args.a;
                 return value_and_grads(
                     c, [&](const std::vector<Var>& v) { return norm(v[0], p, c.args.axes, c.args.flag); });
               },
           .differentiable = true},
          sum_of(60, 4));
  }
  // args.axes = {axis} or empty for the flattened tensor; args.flag = keepdim.
  for (const std::string name : {"argmax", "argmin"}) {
    const bool is_max = name == "argmax";
    t.add({.name = name,
           .kernels = {"arg_reduce"},
           .functions = {name},
           .dtypes = kNumeric,
           .samples = {sample("flattened [3, 4, 5]", {values({3, 4, 5}, -3, 3)}),
                       sample("axis 1, keepdim", {values({3, 4, 5}, -3, 3)}, axes_args({1}, true)),
                       sample("axis 0 of a transposed view", {transposed({4, 6}, -3, 3)}, axes_args({0})),
                       sample("ties: the first index", {given({1, 3, 3, 0, 2, 2, 5, 1}, {2, 4})}, axes_args({1})),
                       floats_only(sample("NaN wins", {given({1, NAN, 3, 0, 2, 5, NAN, NAN}, {2, 4})}, axes_args({1}))),
                       perf_sample("axis 1 of [512, 1024]", {values({512, 1024})}, axes_args({1}))},
           .forward =
               [is_max](const Call& c) {
                 const std::optional<int64_t> axis =
                     c.args.axes.empty() ? std::nullopt : std::optional<int64_t>(c.args.axes[0]);
                 return Outputs{is_max ? argmax(c.x[0], axis, c.args.flag) : argmin(c.x[0], axis, c.args.flag)};
               },
           .not_differentiable_because = "an index"},
          kExact);
  }

  // ---- along one axis (autograd/axis.cpp); args.axis
  for (const std::string name : {"softmax", "log_softmax"}) {
    const bool log = name == "log_softmax";
    t.add({.name = name,
           .kernels = {"softmax", "reduce", "binary"},
           .functions = {name},
           .dtypes = kFloats,
           .samples = {sample("axis -1 of [3, 4, 5]", {values({3, 4, 5}, -4, 4)}),
                       sample("axis 0", {values({3, 4, 5}, -4, 4)}, axis_args(0)),
                       sample("axis 1 of a transposed view", {transposed({4, 6}, -4, 4)}, axis_args(1)),
                       sample("-inf entries", {given({0, -INFINITY, 1, 2, -INFINITY, 3}, {3, 2})}, axis_args(1)),
                       sample("size 1 axis", {values({4, 1})}, axis_args(1)),
                       perf_sample("axis -1 of [512, 1024]", {values({512, 1024}, -4, 4)})},
           .forward =
               [log](const Call& c) {
                 return value_and_grads(c, [&](const std::vector<Var>& v) {
                   return log ? log_softmax(v[0], c.args.axis) : softmax(v[0], c.args.axis);
                 });
               },
           .differentiable = true},
          sum_of(6, 4));
  }
  t.add({.name = "cumsum",
         .kernels = {"cumsum", "reduce", "binary"},
         .functions = {"cumsum"},
         .dtypes = kNumeric,
         .samples = {sample("axis 1 of [3, 6]", {values({3, 6}, -3, 3)}, axis_args(1)),
                     sample("axis 0 of [4, 3, 2]", {values({4, 3, 2}, -3, 3)}, axis_args(0)),
                     sample("axis 1 of a transposed view", {transposed({3, 5}, -3, 3)}, axis_args(1)),
                     sample("size 0", {values({0, 3})}, axis_args(0)),
                     perf_sample("axis 1 of [512, 1024]", {values({512, 1024})}, axis_args(1))},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [&](const std::vector<Var>& v) { return cumsum(v[0], c.args.axis); });
             },
         .differentiable = true},
        sum_of(6, 3));
  t.add({.name = "gather",
         .kernels = {"gather", "scatter_add", "fill"},
         .functions = {"gather"},
         .dtypes = kAllDTypes,
         .samples = {sample("axis 1, repeated indices", {values({3, 5}, -3, 3), indices({4, 4, 0, 1, 1, 2}, {3, 2})},
                            axis_args(1)),
                     sample("axis 0, i32 indices", {values({4, 3}, -3, 3), random_indices({2, 3}, 0, 4, DType::i32)},
                            axis_args(0)),
                     sample("a negative index counts from the end", {values({2, 4}), indices({-1, 0, 3, -4}, {2, 2})},
                            axis_args(1)),
                     sample("transposed x", {transposed({3, 4}), random_indices({3, 2}, 0, 3)}, axis_args(0)),
                     perf_sample("axis 1 of [512, 1024]", {values({512, 1024}), random_indices({512, 256}, 0, 1024)},
                                 axis_args(1))},
         .forward =
             [](const Call& c) {
               return value_and_grads(
                   c, [&](const std::vector<Var>& v) { return gather(v[0], c.args.axis, v[1].value()); });
             },
         .differentiable = true},
        sum_of(3, 1));
  t.add({.name = "scatter_add",
         .kernels = {"scatter_add", "gather", "copy"},
         .functions = {"scatter_add", "scatter_add_"},
         .dtypes = kNumeric,
         .samples = {sample("axis 1, duplicates accumulate",
                            {values({3, 5}, -3, 3), indices({4, 4, 0, 1, 1, 2}, {3, 2}), values({3, 2}, -3, 3)},
                            axis_args(1)),
                     sample("axis 0", {values({4, 3}, -3, 3), random_indices({5, 3}, 0, 4), values({5, 3}, -3, 3)},
                            axis_args(0)),
                     sample("transposed x and src",
                            {transposed({3, 4}), random_indices({3, 4}, 0, 3), transposed({3, 4})}, axis_args(0)),
                     perf_sample("axis 1 of [512, 1024]",
                                 {values({512, 1024}), random_indices({512, 256}, 0, 1024), values({512, 256})},
                                 axis_args(1))},
         .forward =
             [](const Call& c) {
               Outputs out = value_and_grads(
                   c, [&](const std::vector<Var>& v) { return scatter_add(v[0], c.args.axis, v[1].value(), v[2]); });
               Tensor in_place = c.x[0].clone();
               scatter_add_(in_place, c.args.axis, c.x[1], c.x[2]);
               out.push_back(in_place);
               return out;
             },
         .differentiable = true},
        sum_of(4, 3));
  t.add({.name = "index_select",
         .kernels = {"index_select", "index_add", "fill"},
         .functions = {"index_select"},
         .dtypes = kAllDTypes,
         .samples = {sample("axis 0 with repeats", {values({4, 3}, -3, 3), indices({2, 0, 2}, {3})}, axis_args(0)),
                     sample("axis 1, i32", {values({2, 4, 3}, -3, 3), indices({3, 1}, {2}, DType::i32)}, axis_args(1)),
                     sample("transposed x", {transposed({3, 5}), indices({4, 0}, {2})}, axis_args(1)),
                     sample("empty index", {values({3, 2}), indices({}, {0})}, axis_args(0)),
                     perf_sample("rows of [4096, 256]", {values({4096, 256}), random_indices({1024}, 0, 4096)},
                                 axis_args(0))},
         .forward =
             [](const Call& c) {
               return value_and_grads(
                   c, [&](const std::vector<Var>& v) { return index_select(v[0], c.args.axis, v[1].value()); });
             },
         .differentiable = true},
        sum_of(3, 1));
  t.add({.name = "index_add",
         .kernels = {"index_add", "copy"},
         .functions = {"index_add_"},
         .dtypes = kNumeric,
         .samples = {sample("axis 0 with repeats",
                            {values({4, 3}, -3, 3), indices({2, 0, 2}, {3}), values({3, 3}, -3, 3)}, axis_args(0)),
                     sample("axis 1, i32", {values({2, 4}, -3, 3), indices({3, 1, 3}, {3}, DType::i32), values({2, 3})},
                            axis_args(1)),
                     sample("transposed src", {values({3, 4}), indices({1, 1}, {2}), transposed({3, 2})}, axis_args(1)),
                     perf_sample("rows of [4096, 256]",
                                 {values({4096, 256}), random_indices({1024}, 0, 4096), values({1024, 256})},
                                 axis_args(0))},
         .forward =
             [](const Call& c) {
               Tensor x = c.x[0].clone();
               index_add_(x, c.args.axis, c.x[1], c.x[2]);
               return Outputs{x};
             },
         .not_differentiable_because = "an in-place tensor op; index_select's gradient (its autograd use)"},
        sum_of(3, 3));
  // args.k = num_classes; the run's dtype is the result's.
  t.add({.name = "one_hot",
         .kernels = {"fill", "scatter_add", "reduce"},
         .functions = {"one_hot"},
         .dtypes = kNumeric,
         .samples = {sample("[2, 3] of 5 classes", {indices({4, 0, 2, 2, 1, 0}, {2, 3})}, axis_args(-1, false, 5)),
                     sample("i32, 1 class", {indices({0, 0}, {2}, DType::i32)}, axis_args(-1, false, 1)),
                     sample("no indices", {indices({}, {0})}, axis_args(-1, false, 3))},
         .forward = [](const Call& c) { return Outputs{one_hot(c.x[0], c.args.k, c.dtype)}; },
         .not_differentiable_because = "a function of indices"},
        kExact);
  // args.flag = descending; sort's values are a gather of x (autograd/axis.cpp).
  t.add({.name = "sort",
         .kernels = {"sort", "gather", "scatter_add"},
         .functions = {"sort", "argsort"},
         .dtypes = kNumeric,
         .samples = {sample("axis -1 of [3, 5]", {values({3, 5}, -3, 3)}),
                     sample("descending, axis 0", {values({4, 3}, -3, 3)}, axis_args(0, true)),
                     sample("stable with ties", {given({2, 1, 2, 0, 1, 0, 3, 3}, {2, 4})}),
                     floats_only(sample("NaN last", {given({2, 1, NAN, 0, NAN, 0, 3, 3}, {2, 4})})),
                     floats_only(sample("descending: NaN first", {given({2, NAN, 1, 2}, {4})}, axis_args(-1, true))),
                     sample("transposed", {transposed({3, 4}, -3, 3)}, axis_args(1)), sample("0-d", {values({})}),
                     perf_sample("rows of [256, 1024]", {values({256, 1024})})},
         .forward =
             [](const Call& c) {
               Outputs out = value_and_grads(c, VarFn([&](const std::vector<Var>& v) {
                                               const VarIndices r = sort(v[0], c.args.axis, c.args.flag);
                                               return std::vector<Var>{r.values, Var(r.indices)};
                                             }));
               out.push_back(argsort(c.x[0], c.args.axis, c.args.flag));
               return out;
             },
         .differentiable = true},
        kExact);
  // args.k, args.axis, args.flag = largest.
  t.add({.name = "topk",
         .kernels = {"topk", "gather", "scatter_add"},
         .functions = {"topk"},
         .dtypes = kNumeric,
         .samples = {sample("2 largest of [3, 5]", {values({3, 5}, -3, 3)}, axis_args(-1, true, 2)),
                     sample("3 smallest along axis 0", {values({4, 3}, -3, 3)}, axis_args(0, false, 3)),
                     sample("ties keep the lower index", {given({1, 3, 3, 0, 3, 2}, {6})}, axis_args(-1, true, 3)),
                     sample("k = the axis", {transposed({3, 4}, -3, 3)}, axis_args(1, true, 3)),
                     sample("k = 0", {values({2, 3})}, axis_args(1, true, 0)),
                     perf_sample("8 largest of rows of [256, 1024]", {values({256, 1024})}, axis_args(-1, true, 8))},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, VarFn([&](const std::vector<Var>& v) {
                                        const VarIndices r = topk(v[0], c.args.k, c.args.axis, c.args.flag);
                                        return std::vector<Var>{r.values, Var(r.indices)};
                                      }));
             },
         .differentiable = true},
        kExact);

  // ---- matmul and linear (autograd/matmul.cpp): dot products of length <= 8
  // in the forward and <= 8 in the gradients, |terms| <= 1 (cotangent |.| <= 1).
  t.add({.name = "matmul",
         .kernels = {"matmul", "reduce"},
         .functions = {"matmul"},
         .dtypes = kFloats,
         .samples = {sample("[3, 4] @ [4, 5]", {values({3, 4}), values({4, 5})}),
                     sample("batch broadcast [2, 1, 3, 4] @ [3, 4, 2]", {values({2, 1, 3, 4}), values({3, 4, 2})}),
                     sample("vector @ batched matrix", {values({4}), values({2, 4, 3})}),
                     sample("matrix @ vector", {values({3, 4}), values({4})}),
                     sample("vector @ vector", {values({7}), values({7})}),
                     sample("transposed @ strided", {transposed({5, 8}), strided({8, 3})}),
                     sample("K = 0 gives zeros", {values({3, 0}), values({0, 4})}),
                     sample("M = 0", {values({0, 3}), values({3, 2})}),
                     perf_sample("[256, 256] @ [256, 256]", {values({256, 256}), values({256, 256})})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [](const std::vector<Var>& v) { return matmul(v[0], v[1]); });
             },
         .differentiable = true},
        sum_of(8, 1));
  // Without a bias the sample has two inputs.
  t.add({.name = "linear",
         .kernels = {"linear", "matmul", "reduce"},
         .functions = {"linear"},
         .dtypes = kFloats,
         .samples = {sample("[5, 6] W [4, 6] + b", {values({5, 6}), values({4, 6}), values({4})}),
                     sample("3-D x", {values({2, 3, 6}), values({4, 6}), values({4})}),
                     sample("without bias, transposed weight", {values({3, 5}), transposed({2, 5})}),
                     sample("strided x", {strided({4, 3}), values({2, 3}), values({2})}),
                     sample("no rows", {values({0, 3}), values({2, 3}), values({2})}),
                     perf_sample("[256, 512] W [512, 512]", {values({256, 512}), values({512, 512}), values({512})})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [](const std::vector<Var>& v) { return linear(v[0], v[1], maybe(v, 2)); });
             },
         .differentiable = true},
        sum_of(8, 1));

  // ---- fused layers (autograd/layers.cpp over tensor/fused_layers.h)
  // Inputs 1 and 2 are the weight and bias when given; args.a = eps (0: 1e-5),
  // args.flag: the bias without a weight. The tensor entry's mean and rstd ride along.
  t.add({.name = "layer_norm",
         .kernels = {"layer_norm", "layer_norm_backward"},
         .functions = {"layer_norm_forward", "layer_norm_backward"},
         .dtypes = kFloats,
         .samples = {sample("weight and bias", {values({3, 5}, -2, 2), values({5}), values({5})}),
                     sample("no weight, no bias, 3-D", {values({2, 3, 4}, -2, 2)}),
                     sample("weight only, eps 0.1", {values({4, 3}, -2, 2), values({3})}, scalar_args(0.1)),
                     sample("bias only, transposed x", {transposed({6, 2}, -2, 2), values({2})}, axis_args(-1, true)),
                     sample("one column", {values({3, 1}), values({1}), values({1})}),
                     perf_sample("[1024, 768]", {values({1024, 768}), values({768}), values({768})})},
         .forward =
             [](const Call& c) {
               const double eps = c.args.a == 0 ? 1e-5 : c.args.a;
               const bool bias_only = c.args.flag;
               Outputs out = value_and_grads(c, [&](const std::vector<Var>& v) {
                 return bias_only ? layer_norm(v[0], Var(), v[1], eps)
                                  : layer_norm(v[0], maybe(v, 1), maybe(v, 2), eps);
               });
               const Tensor w = bias_only || c.x.size() < 2 ? Tensor() : c.x[1];
               const Tensor b = bias_only ? c.x[1] : (c.x.size() < 3 ? Tensor() : c.x[2]);
               const LayerNormForward f = layer_norm_forward(c.x[0], w, b, eps);
               out.push_back(f.mean);
               out.push_back(f.rstd);
               return out;
             },
         .differentiable = true},
        sum_of(6, 4));
  // Input 3, when given, is the b8 key mask [B, T]; args.flag = causal. The
  // tensor entry's lse rides along. Scores are dot products of length D <= 4,
  // the outputs and gradients sums over T <= 5 keys.
  t.add({.name = "attention",
         .kernels = {"attention", "attention_backward"},
         .functions = {"attention_forward", "attention_backward"},
         .dtypes = kFloats,
         .samples = {sample("causal [1, 2, 4, 3]", {values({1, 2, 4, 3}), values({1, 2, 4, 3}), values({1, 2, 4, 3})},
                            axis_args(-1, true)),
                     sample("non-causal [2, 2, 3, 2]",
                            {values({2, 2, 3, 2}), values({2, 2, 3, 2}), values({2, 2, 3, 2})}),
                     sample("causal, key mask, a fully masked query",
                            {values({2, 2, 4, 2}), values({2, 2, 4, 2}), values({2, 2, 4, 2}),
                             mask({0, 1, 1, 0, 1, 1, 0, 1}, {2, 4})},
                            axis_args(-1, true)),
                     sample("non-causal, a fully masked batch entry",
                            {values({2, 2, 3, 4}), values({2, 2, 3, 4}), values({2, 2, 3, 4}),
                             mask({1, 0, 1, 0, 0, 0}, {2, 3})}),
                     sample("strided q, k, v ([B, T, H, D] views)",
                            {SampleInput{uniform({1, 5, 2, 4}, -1, 1, sample_generator(), DType::f64), false,
                                         [](const Tensor& t) {
                                           return t.permute({0, 2, 1, 3});
                                         },
                                         "permuted"},
                             SampleInput{uniform({1, 5, 2, 4}, -1, 1, sample_generator(), DType::f64), false,
                                         [](const Tensor& t) {
                                           return t.permute({0, 2, 1, 3});
                                         },
                                         "permuted"},
                             SampleInput{uniform({1, 5, 2, 4}, -1, 1, sample_generator(), DType::f64), false,
                                         [](const Tensor& t) {
                                           return t.permute({0, 2, 1, 3});
                                         },
                                         "permuted"}},
                            axis_args(-1, true)),
                     sample("one token", {values({1, 1, 1, 3}), values({1, 1, 1, 3}), values({1, 1, 1, 3})},
                            axis_args(-1, true)),
                     perf_sample("causal [2, 4, 256, 64]",
                                 {values({2, 4, 256, 64}), values({2, 4, 256, 64}), values({2, 4, 256, 64})},
                                 axis_args(-1, true))},
         .forward =
             [](const Call& c) {
               const Tensor key_mask = c.x.size() > 3 ? c.x[3] : Tensor();
               Outputs out = value_and_grads(
                   c, [&](const std::vector<Var>& v) { return attention(v[0], v[1], v[2], c.args.flag, key_mask); });
               out.push_back(attention_forward(c.x[0], c.x[1], c.x[2], c.args.flag, key_mask).lse);
               return out;
             },
         .differentiable = true},
        sum_of(6, 8));
  // args.a = p, args.k = the generator's seed. The mask comes from the Philox
  // stream in the run's dtype, so the oracle is the reference backend in that
  // dtype; x / (1 - p) or x * (1 / (1 - p)) round once or twice.
  t.add({.name = "dropout",
         .kernels = {"dropout"},
         .functions = {"dropout"},
         .dtypes = kFloats,
         .samples = {sample("p 0.4 [4, 5]", {values({4, 5}, -3, 3)}, {.k = 7, .a = 0.4}),
                     sample("p 0.1, odd size, transposed", {transposed({3, 7}, -3, 3)}, {.k = 11, .a = 0.1}),
                     sample("p 0.9 [33]", {values({33}, -3, 3)}, {.k = 3, .a = 0.9}),
                     sample("p 0: the identity", {values({2, 3})}, {.k = 1, .a = 0}),
                     perf_sample("p 0.1 [1024, 1024]", {values({1024, 1024})}, {.k = 5, .a = 0.1})},
         .forward =
             [](const Call& c) {
               Outputs out = value_and_grads(c, [&](const std::vector<Var>& v) {
                 Generator gen(uint64_t(c.args.k));
                 return dropout(v[0], c.args.a, gen);
               });
               // The tensor entry at an offset, and which elements it kept.
               const Tensor y = dropout(c.x[0].contiguous(), c.args.a, uint64_t(c.args.k), 17);
               out.push_back(y);
               out.push_back(ne(y, 0.0));
               return out;
             },
         .oracle = Oracle::same_dtype,
         .differentiable = true},
        {0, 2});
  t.add({.name = "embedding",
         .kernels = {"index_select", "index_add", "fill"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("repeated indices", {indices({4, 0, 4, 2, 4, 1}, {2, 3}), values({5, 3})}),
                     sample("i32 indices, transposed weight", {indices({1, 0}, {2}, DType::i32), transposed({3, 4})}),
                     sample("no indices", {indices({}, {0}), values({3, 2})}),
                     perf_sample("[64, 128] tokens of a [8192, 256] table",
                                 {random_indices({64, 128}, 0, 8192), values({8192, 256})})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [](const std::vector<Var>& v) { return embedding(v[0].value(), v[1]); });
             },
         .differentiable = true},
        sum_of(3, 1));

  // ---- losses (autograd/losses.cpp); args.k: 0 mean, 1 sum, 2 none
  // cross_entropy: input 1 the targets, input 2 (when given) the mask or
  // weights; args.b = ignore_index (0: -100). The tensor entry rides along.
  t.add(
      {.name = "cross_entropy",
       .kernels = {"cross_entropy", "cross_entropy_backward", "where", "reduce"},
       .functions = {"cross_entropy_forward", "cross_entropy_backward"},
       .dtypes = kFloats,
       .samples = {sample("mean", {values({4, 5}, -2, 2), indices({1, 0, 4, 2}, {4})}),
                   sample("sum, [2, 3, C], i32 targets",
                          {values({2, 3, 4}, -2, 2), indices({0, 3, 1, 2, 2, 0}, {2, 3}, DType::i32)}, {.k = 1}),
                   sample("none, ignored rows", {values({5, 3}, -2, 2), indices({2, -100, 0, -100, 1}, {5})}, {.k = 2}),
                   sample("ignore_index 1 (a class)", {values({5, 3}, -2, 2), indices({2, 1, 0, 1, 0}, {5})},
                          {.k = 2, .b = 1}),
                   sample("b8 keep-mask", {values({2, 3, 4}, -2, 2), indices({0, 3, 1, 2, 2, 0}, {2, 3}),
                                           mask({1, 0, 1, 1, 0, 1}, {2, 3})}),
                   sample("weights", {values({4, 3}, -2, 2), indices({2, 0, -100, 1}, {4}),
                                      fixed_values({0.5, 2.0, 1.5, 3.0}, {4})}),
                   sample("large logits", {values({3, 6}, -30, 30), indices({5, 0, 3}, {3})}, {.k = 1}),
                   sample("transposed logits", {transposed({3, 4}, -2, 2), indices({1, 2, 0}, {3})}),
                   perf_sample("[512, 4096]", {values({512, 4096}, -4, 4), random_indices({512}, 0, 4096)})},
       .forward =
           [](const Call& c) {
             CrossEntropyOptions o;
             o.reduction = reduction_of(c.args.k);
             o.ignore_index = c.args.b == 0 ? -100 : int64_t(c.args.b);
             if (c.x.size() > 2) o.mask = c.x[2];
             Outputs out =
                 value_and_grads(c, [&](const std::vector<Var>& v) { return cross_entropy(v[0], v[1].value(), o); });
             // The tensor entry on the 2-D logits with the ignored rows' targets negative.
             if (c.x[0].dim() == 2) {
               const Tensor t = c.x[1].to(DType::i64);
               const Tensor rows = where(eq(t, double(o.ignore_index)), scalar(-1.0, DType::i64, t.device()), t);
               const CrossEntropyForward f = cross_entropy_forward(c.x[0], rows);
               out.push_back(f.loss);
               out.push_back(f.lse);
               out.push_back(cross_entropy_backward(c.x[0], rows, f.lse, cotangent(f.loss)));
             }
             return out;
           },
       .differentiable = true},
      sum_of(6, 30));
  t.add({.name = "mse",
         .kernels = {"binary", "unary", "reduce"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("mean, broadcast target", {values({3, 4}), values({4})}),
                     sample("sum", {values({3, 4}), values({3, 4})}, {.k = 1}),
                     sample("none, broadcast prediction", {values({3, 1}), transposed({3, 4})}, {.k = 2})},
         .forward =
             [](const Call& c) {
               return value_and_grads(
                   c, [&](const std::vector<Var>& v) { return mse(v[0], v[1], reduction_of(c.args.k)); });
             },
         .differentiable = true},
        sum_of(12, 4));
  t.add({.name = "gaussian_nll",
         .kernels = {"binary", "unary", "reduce"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("mean, shared log_var", {values({3, 4}), values({4}), values({3, 4})}),
                     sample("sum", {values({3, 4}), values({3, 4}), values({3, 4})}, {.k = 1}),
                     sample("none, broadcast mean and target", {values({2, 1, 4}), values({2, 3, 4}), values({3, 1})},
                            {.k = 2})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [&](const std::vector<Var>& v) {
                 return gaussian_nll(v[0], v[1], v[2], reduction_of(c.args.k));
               });
             },
         .differentiable = true},
        sum_of(12, 12));
  t.add({.name = "bce_with_logits",
         .kernels = {"binary", "unary", "reduce"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("mean", {values({3, 4}, -4, 4), values({3, 4}, 0, 1)}),
                     sample("sum, broadcast target", {values({3, 4}, -4, 4), values({4}, 0, 1)}, {.k = 1}),
                     sample("none, large logits", {values({3, 4}, -30, 30), values({3, 4}, 0, 1)}, {.k = 2})},
         .forward =
             [](const Call& c) {
               return value_and_grads(
                   c, [&](const std::vector<Var>& v) { return bce_with_logits(v[0], v[1], reduction_of(c.args.k)); });
             },
         .differentiable = true},
        sum_of(12, 30));

  // ---- activations (autograd/activations.cpp)
  t.add({.name = "log_sigmoid",
         .kernels = {"unary", "binary"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("[3, 4]", {values({3, 4}, -6, 6)}), sample("large inputs", {values({3, 4}, -30, 30)}),
                     sample("transposed", {transposed({2, 5}, -6, 6)})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [](const std::vector<Var>& v) { return log_sigmoid(v[0]); });
             },
         .differentiable = true},
        kFunctions);
  t.add({.name = "entropy",
         .kernels = {"softmax", "binary", "reduce"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("axis -1", {values({3, 5}, -2, 2)}),
                     sample("axis 0", {values({3, 4, 2}, -2, 2)}, axis_args(0)),
                     sample("large logits", {values({4, 6}, -30, 30)}, axis_args(1)),
                     sample("a -inf logit", {given({0, -INFINITY, 1, 2, 0.5, -1, -INFINITY, 3}, {2, 4})})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [&](const std::vector<Var>& v) { return entropy(v[0], c.args.axis); });
             },
         .differentiable = true},
        sum_of(6, 30));

  // ---- linear algebra (autograd/linalg.cpp, tensor/linalg.cpp): computed in
  // f64 on the CPU from any device, so the f32 run differs from the oracle by
  // its input's and output's roundings only; the gradient U V^T is as well
  // conditioned as the singular values are separated (random matrices: gaps of 0.1).
  t.add({.name = "nuclear_norm",
         .kernels = {"copy"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("3x4", {values({3, 4})}), sample("batched [2, 4, 3]", {values({2, 4, 3})}),
                     sample("transposed", {transposed({4, 2})})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, [](const std::vector<Var>& v) { return nuclear_norm(v[0]); });
             },
         .differentiable = true},
        {64, 64});
  t.add({.name = "svd",
         .kernels = {"copy"},
         .functions = {"svd"},
         .dtypes = kFloats,
         .samples = {sample("3x4", {values({3, 4})}), sample("batched [2, 4, 3]", {values({2, 4, 3})}),
                     sample("transposed", {transposed({5, 3})})},
         .forward =
             [](const Call& c) {
               const Svd r = svd(c.x[0]);
               return Outputs{r.U, r.S, r.Vh};
             },
         .not_differentiable_because = "differentiated through nuclear_norm"},
        {64, 64});
  t.add({.name = "eigh",
         .kernels = {"copy"},
         .functions = {"eigh"},
         .dtypes = kFloats,
         .samples = {sample("4x4", {symmetric(4)}), sample("1x1", {symmetric(1)}), sample("6x6", {symmetric(6)})},
         .forward =
             [](const Call& c) {
               const Eigh r = eigh(c.x[0]);
               return Outputs{r.eigenvalues, r.eigenvectors};
             },
         .not_differentiable_because = "no autograd op uses it"},
        {64, 64});

  // ---- views and joins (autograd/shape.cpp): values are moved, never rounded.
  // A view of a non-contiguous input that must copy goes through the copy
  // kernel; the gradients through fills, copies and sums of at most 2 terms.
  // args.axes: the target shape or the axis order.
  t.add({.name = "reshape",
         .kernels = {"copy"},
         .functions = {},
         .dtypes = kAllDTypes,
         .samples = {sample("[2, 3, 4] to [4, -1]", {values({2, 3, 4}, -3, 3)}, axes_args({4, -1})),
                     sample("a transposed view copies", {transposed({3, 4}, -3, 3)}, axes_args({12})),
                     sample("size 0", {values({0, 3})}, axes_args({3, 0}))},
         .forward =
             [](const Call& c) {
               Outputs out = value_and_grads(c, [&](const std::vector<Var>& v) {
                 return flatten(unsqueeze(squeeze(unsqueeze(reshape(v[0], Shape(c.args.axes)), 0), 0), 1));
               });
               return out;
             },
         .differentiable = true},
        kExact);
  t.add({.name = "permute",
         .kernels = {"copy"},
         .functions = {},
         .dtypes = kAllDTypes,
         .samples = {sample("[2, 3, 4] to [2, 0, 1]", {values({2, 3, 4}, -3, 3)}, axes_args({2, 0, 1})),
                     sample("transposed", {transposed({3, 4}, -3, 3)}, axes_args({1, 0}))},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, VarFn([&](const std::vector<Var>& v) {
                                        return std::vector<Var>{contiguous(permute(v[0], Shape(c.args.axes))),
                                                                contiguous(transpose(v[0], 0, -1))};
                                      }));
             },
         .differentiable = true},
        kExact);
  // args.axis, args.a = start, args.b = end, args.k = step; narrow and split ride along.
  t.add(
      {.name = "slice",
       .kernels = {"fill", "copy"},
       .functions = {"split"},
       .dtypes = kAllDTypes,
       .samples = {sample("step 2", {values({3, 7}, -3, 3)}, {.axis = 1, .k = 2, .a = 1, .b = 6}),
                   sample("negative bounds", {values({6, 3}, -3, 3)}, {.axis = 0, .k = 1, .a = -4, .b = -1}),
                   sample("transposed, empty", {transposed({4, 3}, -3, 3)}, {.axis = 0, .k = 1, .a = 2, .b = 2})},
       .forward =
           [](const Call& c) {
             Outputs out = value_and_grads(
                 c, VarFn([&](const std::vector<Var>& v) {
                   const Var s = slice(v[0], c.args.axis, int64_t(c.args.a), int64_t(c.args.b), c.args.k);
                   const std::vector<Var> pieces = split(v[0], 2, c.args.axis);
                   return std::vector<Var>{contiguous(s), contiguous(narrow(v[0], 0, 1, 1)), contiguous(pieces.back())};
                 }));
             for (const Tensor& piece : split(c.x[0], {1, c.x[0].size(0) - 1}, 0)) out.push_back(piece.contiguous());
             return out;
           },
       .differentiable = true},
      kExact);
  t.add({.name = "select",
         .kernels = {"fill", "copy"},
         .functions = {},
         .dtypes = kAllDTypes,
         .samples = {sample("axis 1, last", {values({3, 4, 2}, -3, 3)}, {.axis = 1, .k = -1}),
                     sample("transposed, axis 0", {transposed({3, 2}, -3, 3)}, {.axis = 0, .k = 1})},
         .forward =
             [](const Call& c) {
               return value_and_grads(
                   c, [&](const std::vector<Var>& v) { return contiguous(select(v[0], c.args.axis, c.args.k)); });
             },
         .differentiable = true},
        kExact);
  t.add({.name = "expand",
         .kernels = {"copy", "reduce"},
         .functions = {},
         .dtypes = kAllDTypes,
         .samples = {sample("[3, 1] to [2, 3, 4]", {values({3, 1}, -3, 3)}, axes_args({2, 3, 4})),
                     sample("keep a size", {values({1, 2}, -3, 3)}, axes_args({3, -1}))},
         .forward =
             [](const Call& c) {
               return value_and_grads(
                   c, [&](const std::vector<Var>& v) { return contiguous(expand(v[0], Shape(c.args.axes))); });
             },
         .differentiable = true},
        sum_of(2, 3));
  t.add(
      {.name = "contiguous",
       .kernels = {"copy"},
       .functions = {},
       .dtypes = kAllDTypes,
       .samples = {sample("of a transpose", {transposed({3, 4}, -3, 3)}),
                   sample("of a strided view", {strided({2, 5})}), sample("already contiguous", {values({2, 2})})},
       .forward =
           [](const Call& c) { return value_and_grads(c, [](const std::vector<Var>& v) { return contiguous(v[0]); }); },
       .differentiable = true},
      kExact);
  for (const std::string name : {"concat", "stack"}) {
    const bool is_concat = name == "concat";
    t.add({.name = name,
           .kernels = {"copy"},
           .functions = {name},
           .dtypes = kAllDTypes,
           .samples = {sample("axis 1",
                              {values({2, 3}, -3, 3), values({2, is_concat ? 1 : 3}, -3, 3),
                               transposed({2, is_concat ? 2 : 3}, -3, 3)},
                              axis_args(1)),
                       sample("axis 0, one input", {values({2, 2}, -3, 3)}, axis_args(0)),
                       sample("size 0 pieces", {values({0, 2}), values({0, 2})}, axis_args(0))},
           .forward =
               [is_concat](const Call& c) {
                 return value_and_grads(c, [&](const std::vector<Var>& v) {
                   return is_concat ? concat(v, c.args.axis) : stack(v, c.args.axis);
                 });
               },
           .differentiable = true},
          kExact);
  }

  // ---- memory: copies with dtype conversion, fills, and data made on the host
  t.add({.name = "copy",
         .kernels = {"copy"},
         .functions = {},
         .dtypes = kAllDTypes,
         .samples = {sample("[3, 4]", {values({3, 4}, -40, 40)}), sample("transposed", {transposed({3, 5}, -40, 40)}),
                     sample("expanded", {expanded({1, 4}, {3, 4}, -40, 40)}), sample("size 0", {values({0, 2})}),
                     perf_sample("transposed [1024, 1024]", {transposed({1024, 1024})})},
         .forward =
             [](const Call& c) {
               const Tensor& x = c.x[0];
               Outputs out = {x.clone(), x.contiguous()};
               for (DType to : kAllDTypes) out.push_back(x.to(to));
               // copy_ into a strided destination, converting.
               Tensor dst = zeros({x.size(0), 2 * x.size(-1)}, DType::f64, c.device);
               dst.slice(1, 0, 2 * x.size(-1), 2).copy_(x);
               out.push_back(dst);
               return out;
             },
         .oracle = Oracle::same_dtype,
         .not_differentiable_because = "Tensor methods; contiguous is the autograd op"},
        kExact);
  t.add({.name = "fill",
         .kernels = {"fill"},
         .functions = {"zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "scalar", "eye"},
         .dtypes = kAllDTypes,
         .samples = {sample("[3, 4], 2.5", {values({3, 4})}, scalar_args(2.5)),
                     sample("transposed, -1", {transposed({2, 3})}, scalar_args(-1)),
                     sample("size 0", {values({0, 3})}, scalar_args(7)),
                     perf_sample("[1024, 1024]", {values({1024, 1024})}, scalar_args(1))},
         .forward =
             [](const Call& c) {
               const Tensor& x = c.x[0];
               Tensor strided_fill = x.clone();
               strided_fill.slice(-1, 0, x.size(-1), 2).fill_(c.args.a);
               return Outputs{strided_fill,
                              zeros(x.shape(), c.dtype, c.device),
                              ones(x.shape(), c.dtype, c.device),
                              full(x.shape(), c.args.a, c.dtype, c.device),
                              zeros_like(x),
                              ones_like(x),
                              full_like(x, c.args.a),
                              scalar(c.args.a, c.dtype, c.device),
                              eye(x.size(0), x.size(-1), c.dtype, c.device)};
             },
         .oracle = Oracle::same_dtype,
         .not_differentiable_because = "makes constants"},
        kExact);
  // Host values reach a device through its table's copies, not a kernel.
  t.add({.name = "from_host",
         .kernels = {},
         .functions = {"arange", "linspace", "from_vector", "tensor"},
         .dtypes = kAllDTypes,
         .samples = {sample("[2, 3]", {values({2, 3}, -9, 9)}, scalar_args(-2, 5))},
         .forward =
             [](const Call& c) {
               Outputs out = {
                   c.x[0].to(Device::cpu).to(c.device),
                   from_vector(c.x[0].to(Device::cpu).to(DType::f64).to_vector<double>(), c.x[0].shape(), c.device)
                       .to(c.dtype)};
               if (c.dtype != DType::b8) out.push_back(arange(c.args.a, c.args.b, 1.0, c.dtype, c.device));
               if (is_floating(c.dtype)) out.push_back(linspace(c.args.a, c.args.b, 8, c.dtype, c.device));
               out.push_back(tensor({1, 2, 3}, {3}, c.dtype).to(c.device));
               out.push_back(arange(4).to(c.device));
               return out;
             },
         .oracle = Oracle::same_dtype,
         .not_differentiable_because = "makes constants"},
        kExact);

  // ---- random numbers: Philox streams every backend must reproduce bit for
  // bit (tensor/random.h); no inputs, args.k = the seed. Normal numbers are
  // computed in f64 by every backend (Box-Muller) and rounded once.
  t.add({.name = "uniform",
         .kernels = {"random"},
         .functions = {"rand", "uniform"},
         .dtypes = kFloats,
         .samples = {sample("[5, 7]", {}, {.axes = {5, 7}, .k = 1}), sample("[3]", {}, {.axes = {3}, .k = 2}),
                     sample("size 0", {}, {.axes = {0, 4}, .k = 3}),
                     perf_sample("[1024, 1024]", {}, {.axes = {1024, 1024}, .k = 4})},
         .forward =
             [](const Call& c) {
               Generator gen(uint64_t(c.args.k));
               gen.set_offset(5);
               const Shape shape(c.args.axes);
               Tensor a = rand(shape, gen, c.dtype, c.device);
               Tensor b = uniform(shape, -2, 3, gen, c.dtype, c.device);
               return Outputs{a, b};
             },
         .oracle = Oracle::same_dtype,
         .not_differentiable_because = "random numbers"},
        kExact);
  t.add({.name = "normal",
         .kernels = {"random"},
         .functions = {"randn", "normal"},
         .dtypes = kFloats,
         .samples = {sample("[5, 7]", {}, {.axes = {5, 7}, .k = 1}), sample("[3], odd", {}, {.axes = {3}, .k = 2}),
                     perf_sample("[1024, 1024]", {}, {.axes = {1024, 1024}, .k = 4})},
         .forward =
             [](const Call& c) {
               Generator gen(uint64_t(c.args.k));
               const Shape shape(c.args.axes);
               Tensor a = randn(shape, gen, c.dtype, c.device);
               Tensor b = normal(shape, 1.5, 0.5, gen, c.dtype, c.device);
               return Outputs{a, b};
             },
         .oracle = Oracle::same_dtype,
         .not_differentiable_because = "random numbers"},
        kExact);
  t.add(
      {.name = "randint",
       .kernels = {"random"},
       .functions = {"randint"},
       .dtypes = {DType::i32, DType::i64},
       .samples = {sample("[5, 7] in [-3, 9)", {}, {.axes = {5, 7}, .k = 1, .a = -3, .b = 9}),
                   sample("[6] in [0, 2^32)", {}, {.axes = {6}, .k = 2, .a = 0, .b = 4294967296.0}),
                   perf_sample("[1024, 1024]", {}, {.axes = {1024, 1024}, .k = 4, .a = 0, .b = 1000})},
       .forward =
           [](const Call& c) {
             Generator gen(uint64_t(c.args.k));
             if (c.dtype == DType::i32 && c.args.b > 2147483647.0) return Outputs{};  // not representable
             return Outputs{randint(int64_t(c.args.a), int64_t(c.args.b), Shape(c.args.axes), gen, c.dtype, c.device)};
           },
       .oracle = Oracle::same_dtype,
       .not_differentiable_because = "random numbers"},
      kExact);
  // randperm runs on the CPU (an argsort of f64 uniforms); listed so that its
  // kernels are named.
  t.add({.name = "randperm",
         .kernels = {"random", "sort"},
         .functions = {"randperm"},
         .dtypes = {DType::i64},
         .samples = {sample("n = 9", {}, {.k = 9}), sample("n = 1", {}, {.k = 1})},
         .forward =
             [](const Call& c) {
               Generator gen(3);
               return Outputs{randperm(c.args.k, gen).to(c.device)};
             },
         .oracle = Oracle::same_dtype,
         .not_differentiable_because = "random numbers"},
        kExact);

  // ---- optimisers: one fused Adam(W) step over two parameters (inputs p, g,
  // m, v of each); args.flag = decoupled (AdamW), args.k = the step. A few
  // roundings per element (p - lr/bc1 m / (sqrt(v)/sqrt(bc2) + eps)).
  t.add(
      {.name = "adam_step",
       .kernels = {"adam_step"},
       .functions = {"adam_step_"},
       .dtypes = kFloats,
       .samples = {sample("Adam, L2, step 1",
                          {values({3, 4}), values({3, 4}), values({3, 4}, -0.1, 0.1), values({3, 4}, 0, 0.1),
                           values({5}), strided({5}), values({5}, -0.1, 0.1), values({5}, 0, 0.1)},
                          {.k = 1}),
                   sample("AdamW, step 10",
                          {values({2, 3}), strided({2, 3}), values({2, 3}, -0.1, 0.1), values({2, 3}, 0, 0.1),
                           values({1}), values({1}), values({1}), values({1}, 0, 0.1)},
                          {.k = 10, .flag = true}),
                   perf_sample("[1024, 1024]",
                               {values({1024, 1024}), values({1024, 1024}), values({1024, 1024}, -0.1, 0.1),
                                values({1024, 1024}, 0, 0.1), values({1}), values({1}), values({1}), values({1}, 0, 1)},
                               {.k = 3})},
       .forward =
           [](const Call& c) {
             std::vector<Tensor> params, grads, m, v;
             for (size_t i = 0; i + 3 < c.x.size(); i += 4) {
               params.push_back(c.x[i].clone());
               grads.push_back(c.x[i + 1]);
               m.push_back(c.x[i + 2].clone());
               v.push_back(c.x[i + 3].clone());
             }
             const AdamHyperparams h{.lr = 1e-2,
                                     .beta1 = 0.9,
                                     .beta2 = 0.999,
                                     .eps = 1e-8,
                                     .weight_decay = 0.01,
                                     .decoupled = c.args.flag,
                                     .step = c.args.k};
             adam_step_(params, grads, m, v, h);
             Outputs out;
             for (size_t i = 0; i < params.size(); ++i) {
               out.push_back(params[i]);
               out.push_back(m[i]);
               out.push_back(v[i]);
             }
             return out;
           },
       .not_differentiable_because = "an optimiser update"},
      kFunctions);

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
