// Op specs: matmul and linear, the fused layers, the losses, the activations and linear algebra.
// Part of the op-spec table (tests/ops/op_specs.h); written with the builders
// of tests/ops/spec_builders.h. A new op of this family adds its entry here.
#include "tests/ops/spec_builders.h"

namespace gradlab::op_specs::build {

void add_layer_specs(TableBuilder& t) {
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
  // x, r, then the weight and bias when given. Both outputs reach the loss
  // (the sum halved), so the sum's gradient gathers its own and the norm's.
  // The tensor entry's sum, mean and rstd ride along.
  t.add({.name = "add_layer_norm",
         .kernels = {"add_layer_norm", "layer_norm_backward"},
         .functions = {"add_layer_norm_forward"},
         .dtypes = kFloats,
         .samples = {sample("weight and bias", {values({3, 5}, -2, 2), values({3, 5}), values({5}), values({5})}),
                     sample("no weight, no bias, 3-D", {values({2, 3, 4}, -2, 2), values({2, 3, 4})}),
                     sample("transposed r", {values({4, 3}, -2, 2), transposed({4, 3}), values({3}), values({3})}),
                     sample("one column", {values({3, 1}), values({3, 1}), values({1}), values({1})}),
                     perf_sample("[1024, 768]",
                                 {values({1024, 768}), values({1024, 768}), values({768}), values({768})})},
         .forward =
             [](const Call& c) {
               Outputs out = value_and_grads(c, [](const std::vector<Var>& v) {
                 const auto [sum, norm] = add_layer_norm(v[0], v[1], maybe(v, 2), maybe(v, 3));
                 return sum * 0.5 + norm;
               });
               const AddLayerNormForward f = add_layer_norm_forward(c.x[0], c.x[1], c.x.size() > 2 ? c.x[2] : Tensor(),
                                                                    c.x.size() > 3 ? c.x[3] : Tensor(), 1e-5);
               out.push_back(f.sum);
               out.push_back(f.norm.mean);
               out.push_back(f.norm.rstd);
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
  // q, k and v packed along the first axis of one [3, B, H, T, D] input;
  // input 1, when given, is the key mask; args.flag = causal. The gradient is
  // one tensor, the three slices of which are attention's dq, dk and dv.
  t.add({.name = "attention_packed",
         .kernels = {"attention", "attention_backward"},
         .functions = {"attention_backward_packed"},
         .dtypes = kFloats,
         .samples = {sample("causal [3, 1, 2, 4, 3]", {values({3, 1, 2, 4, 3})}, axis_args(-1, true)),
                     sample("non-causal, a fully masked batch entry",
                            {values({3, 2, 2, 3, 4}), mask({1, 0, 1, 0, 0, 0}, {2, 3})}),
                     sample("causal, a [B, T, 3, H, D] projection permuted",
                            {SampleInput{uniform({1, 5, 3, 2, 4}, -1, 1, sample_generator(), DType::f64), false,
                                         [](const Tensor& t) {
                                           return t.permute({2, 0, 3, 1, 4});
                                         },
                                         "permuted"}},
                            axis_args(-1, true)),
                     perf_sample("causal [3, 2, 4, 256, 64]", {values({3, 2, 4, 256, 64})}, axis_args(-1, true))},
         .forward =
             [](const Call& c) {
               const Tensor key_mask = c.x.size() > 1 ? c.x[1] : Tensor();
               return value_and_grads(
                   c, [&](const std::vector<Var>& v) { return attention_packed(v[0], c.args.flag, key_mask); });
             },
         .differentiable = true},
        sum_of(6, 8));
  // The bias add and activation in one pass. args.k picks the activation
  // (below); the tensor entry's z = x + bias and silu's kept sigmoid ride
  // along. The bias gradient sums at most 6 rows of terms of size <= 1.2.
  t.add(
      {.name = "bias_activation",
       .kernels = {"bias_activation", "bias_activation_backward", "reduce"},
       .functions = {"bias_activation_forward", "bias_activation_backward"},
       .dtypes = kFloats,
       .samples = {sample("silu, a bias per column", {values({4, 5}, -3, 3), values({5})}, {.k = 0}),
                   sample("silu, an ensemble's [K, 1, out] bias, transposed x",
                          {transposed({2, 3, 4}, -3, 3), values({2, 1, 4})}, {.k = 0}),
                   sample("relu", {values({6, 3}, 0.2, 2), values({3}, 0.1, 1)}, {.k = 1}),
                   sample("tanh, one bias for all", {values({3, 4}, -2, 2), values({1})}, {.k = 2}),
                   sample("gelu", {values({3, 4}, -2, 2), values({4})}, {.k = 3}),
                   sample("softplus, beta 2", {values({3, 4}, -2, 2), values({4})}, {.k = 4}),
                   sample("no rows", {values({0, 3}), values({3})}, {.k = 0}),
                   perf_sample("silu [7, 256, 64] + [7, 1, 64]", {values({7, 256, 64}), values({7, 1, 64})}, {.k = 0})},
       .forward =
           [](const Call& c) {
             static const UnaryOp kOps[] = {UnaryOp::silu, UnaryOp::relu, UnaryOp::tanh, UnaryOp::gelu_erf,
                                            UnaryOp::softplus};
             const UnaryOp op = kOps[c.args.k];
             const UnaryParams params = op == UnaryOp::softplus ? UnaryParams{2.0, 20.0} : UnaryParams{};
             Outputs out =
                 value_and_grads(c, [&](const std::vector<Var>& v) { return bias_activation(v[0], v[1], op, params); });
             const BiasActivationForward f = bias_activation_forward(op, params, c.x[0], c.x[1]);
             out.push_back(f.z);
             if (f.sigmoid.defined()) out.push_back(f.sigmoid);
             out.push_back(bias_activation_backward(op, params, f, ones_like(f.y)));
             return out;
           },
       .differentiable = true},
      sum_of(6, 2));
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
}

}  // namespace gradlab::op_specs::build
