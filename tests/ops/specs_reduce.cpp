// Op specs: reductions and the ops along one axis (gather, scatter, index, cumsum, sort, topk, softmax, ...).
// Part of the op-spec table (tests/ops/op_specs.h); written with the builders
// of tests/ops/spec_builders.h. A new op of this family adds its entry here.
#include "tests/ops/spec_builders.h"

namespace gradlab::op_specs::build {

void add_reduce_specs(TableBuilder& t) {
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
}

}  // namespace gradlab::op_specs::build
