// Op specs: unary ops (one per row of tensor/unary_ops.h), binary ops, comparisons and where.
// Part of the op-spec table (tests/ops/op_specs.h); written with the builders
// of tests/ops/spec_builders.h. A new op of this family adds its entry here.
#include "tests/ops/spec_builders.h"

namespace gradlab::op_specs::build {

void add_elementwise_specs(TableBuilder& t) {
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
}

}  // namespace gradlab::op_specs::build
