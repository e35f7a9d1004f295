// Op specs: views and joins, copies and fills, random numbers and the fused optimiser step.
// Part of the op-spec table (tests/ops/op_specs.h); written with the builders
// of tests/ops/spec_builders.h. A new op of this family adds its entry here.
#include "tests/ops/spec_builders.h"

namespace gradlab::op_specs::build {

void add_memory_specs(TableBuilder& t) {
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
  // A conversion as an autograd op: through the other float dtype and through
  // bf16 and back, exact on these values (bf16's rounding is the same on every
  // backend and in the oracle); the gradient is the cotangent converted back.
  t.add({.name = "to_dtype",
         .kernels = {"copy"},
         .functions = {},
         .dtypes = kFloats,
         .samples = {sample("[3, 4]", {values({3, 4}, -40, 40)}), sample("transposed", {transposed({3, 5}, -40, 40)})},
         .forward =
             [](const Call& c) {
               return value_and_grads(c, VarFn([&](const std::vector<Var>& v) {
                                        const DType other = c.dtype == DType::f32 ? DType::f64 : DType::f32;
                                        return std::vector<Var>{to_dtype(to_dtype(v[0], other), c.dtype),
                                                                to_dtype(to_dtype(v[0], DType::bf16), c.dtype)};
                                      }));
             },
         .differentiable = true},
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

  // ---- the squared norm of a list (gradient clipping): the sum over the
  // tensors of sum(x^2), accumulated in f64 whatever the inputs' dtype.
  t.add({.name = "sum_squares",
         .kernels = {"sum_squares"},
         .functions = {"sum_squares"},
         .dtypes = kFloats,
         .samples = {sample("two tensors", {values({3, 4}), values({5})}),
                     sample("a strided view and a 0-d tensor", {strided({4, 3}), values({})}),
                     perf_sample("[512, 1024] and [1024]", {values({512, 1024}), values({1024})})},
         .forward = [](const Call& c) { return Outputs{sum_squares(c.x)}; },
         .not_differentiable_because = "clipping's gradient norm, read outside the graph"},
        sum_of(20, 1));
}

}  // namespace gradlab::op_specs::build
