// CUDA against CPU, op by op at the tensor level, in f32 and f64: elementwise
// and broadcasting (contiguous, strided, expanded), reductions over every axis
// set, softmax, cumsum, gather/scatter, index_select/index_add, sort/topk,
// matmul/linear through cuBLAS, layer norm, fused attention, cross-entropy, the
// fused AdamW step, Philox random numbers and dropout. Each comparison has a
// tolerance for its kind of op (tests/cuda/cuda_check.h); sorts, gathers and
// random bits must match exactly. Skipped visibly without a GPU.
#include <doctest/doctest.h>

#include "tensor/backend.h"
#include "tensor/fused_layers.h"
#include "tensor/fused_losses.h"
#include "tensor/optim_kernels.h"
#include "tests/cuda/cuda_check.h"

using namespace gradlab;
using cuda_test::gpu;
using cuda_test::Tol;
using cuda_test::tol_elementwise;
using cuda_test::tol_sum;

namespace {
const DType kFloats[] = {DType::f32, DType::f64};
std::string label(std::string_view op, DType dt) { return fmt::format("{} ({})", op, dt); }
}  // namespace

TEST_CASE("unary ops and their backward") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(1);
  for (DType dt : kFloats) {
    const Tensor x = uniform({33, 65}, -3.0, 3.0, gen, dt);
    const Tensor pos = uniform({33, 65}, 0.1, 4.0, gen, dt);
    const Tensor dout = randn({33, 65}, gen, dt);
    struct Case {
      UnaryOp op;
      UnaryParams p;
      bool positive;
    };
    const Case cases[] = {{UnaryOp::neg, {}, false},
                          {UnaryOp::abs, {}, false},
                          {UnaryOp::sign, {}, false},
                          {UnaryOp::exp, {}, false},
                          {UnaryOp::log, {}, true},
                          {UnaryOp::log1p, {}, true},
                          {UnaryOp::sqrt, {}, true},
                          {UnaryOp::rsqrt, {}, true},
                          {UnaryOp::square, {}, false},
                          {UnaryOp::tanh, {}, false},
                          {UnaryOp::sigmoid, {}, false},
                          {UnaryOp::relu, {}, false},
                          {UnaryOp::gelu_tanh, {}, false},
                          {UnaryOp::gelu_erf, {}, false},
                          {UnaryOp::silu, {}, false},
                          {UnaryOp::softplus, {1.5, 20.0}, false},
                          {UnaryOp::clamp, {-0.5, 1.0}, false},
                          {UnaryOp::pow_scalar, {2.5, 0}, true}};
    for (const Case& c : cases) {
      const Tensor in = c.positive ? pos : x;
      // The forward through the public op of each kind, on a transposed (strided) view too.
      const Tensor y_cpu = unary_grad(c.op, in, in, dout, c.p);  // backward first: uses the kernel directly
      const Tensor y_gpu = unary_grad(c.op, gpu(in), gpu(in), gpu(dout), c.p);
      CHECK_PARITY(label(fmt::format("{} backward", op_name(c.op)), dt), y_cpu, y_gpu, Tol{1e-5, 1e-5});
    }
    CHECK_PARITY(label("exp", dt), exp(x), exp(gpu(x)), tol_elementwise(dt));
    CHECK_PARITY(label("log", dt), log(pos), log(gpu(pos)), tol_elementwise(dt));
    CHECK_PARITY(label("log1p", dt), log1p(pos), log1p(gpu(pos)), tol_elementwise(dt));
    CHECK_PARITY(label("tanh (strided)", dt), tanh(x.mT()), tanh(gpu(x).mT()), tol_elementwise(dt));
    CHECK_PARITY(label("sigmoid", dt), sigmoid(x), sigmoid(gpu(x)), tol_elementwise(dt));
    CHECK_PARITY(label("gelu", dt), gelu(x), gelu(gpu(x)), tol_elementwise(dt));
    CHECK_PARITY(label("gelu tanh", dt), gelu(x, true), gelu(gpu(x), true), tol_elementwise(dt));
    CHECK_PARITY(label("silu", dt), silu(x), silu(gpu(x)), tol_elementwise(dt));
    CHECK_PARITY(label("softplus", dt), softplus(x, 2.0, 3.0), softplus(gpu(x), 2.0, 3.0), tol_elementwise(dt));
    CHECK_PARITY(label("sqrt", dt), sqrt(pos), sqrt(gpu(pos)), tol_elementwise(dt));
    CHECK_PARITY(label("rsqrt", dt), rsqrt(pos), rsqrt(gpu(pos)), tol_elementwise(dt));
    CHECK_PARITY(label("pow 1.7", dt), pow(pos, 1.7), pow(gpu(pos), 1.7), Tol{1e-6, 1e-5});
    CHECK_PARITY(label("relu (slice)", dt), relu(x.slice(1, 1, 60, 3)), relu(gpu(x).slice(1, 1, 60, 3)),
                 tol_elementwise(dt));
    CHECK_PARITY(label("clamp", dt), clamp(x, -1, 0.5), clamp(gpu(x), -1, 0.5), tol_elementwise(dt));
    CHECK_PARITY(label("abs sign neg square", dt), abs(x) + sign(x) - square(x),
                 abs(gpu(x)) + sign(gpu(x)) - square(gpu(x)), tol_elementwise(dt));
  }
  // Integer unary ops.
  const Tensor xi = randint(-50, 50, {7, 9}, gen, DType::i64);
  CHECK(cuda_test::same_values(neg(xi), neg(gpu(xi))));
  CHECK(cuda_test::same_values(abs(xi), abs(gpu(xi))));
  CHECK(cuda_test::same_values(clamp(xi.to(DType::i32), -3, 7), clamp(gpu(xi.to(DType::i32)), -3, 7)));
}

TEST_CASE("bias_activation in one launch: the bits of the add and the op on the GPU, the CPU's within rounding") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(9);
  const Backend& be = backend(Device::cuda);
  for (DType dt : kFloats) {
    // A [out] bias over [N, out] rows (the Linear layout), a [K, 1, out] one
    // over [K, N, out] (an ensemble), and a transposed x (strided reads).
    struct Shapes {
      Shape x, bias;
      bool transposed;
    };
    const Shapes shapes[] = {{{37, 65}, {65}, false}, {{3, 17, 40}, {3, 1, 40}, false}, {{65, 37}, {65}, true}};
    for (const Shapes& sh : shapes)
      for (UnaryOp op : {UnaryOp::relu, UnaryOp::tanh, UnaryOp::silu, UnaryOp::gelu_erf, UnaryOp::sigmoid})
        for (bool keep : {false, true}) {
          const std::string what = fmt::format("{} {} keep {} x {}{}", op_name(op), dt, keep, sh.x,
                                               sh.transposed ? " (transposed)" : "");
          CAPTURE(what);
          Tensor x = uniform(sh.x, -3.0, 3.0, gen, dt);
          if (sh.transposed) x = x.mT();
          const Tensor bias = uniform(sh.bias, -1.0, 1.0, gen, dt), dy = randn(x.shape(), gen, dt);
          const Tensor xg = sh.transposed ? gpu(x.mT()).mT() : gpu(x);
          const BiasActivationForward fused = bias_activation_forward(op, {}, xg, gpu(bias), keep);
          // The passes on the same GPU: add, op, and silu's sigmoid.
          const Tensor z = Tensor::empty(fused.y.shape(), dt, Device::cuda);
          const Tensor y = Tensor::empty(fused.y.shape(), dt, Device::cuda);
          be.binary(BinaryOp::add, xg, gpu(bias).expand(z.shape()), z);
          be.unary(op, {}, z, y);
          CHECK(cuda_test::same_values(fused.y, y));
          CHECK_PARITY(what, bias_activation_forward(op, {}, x, bias, keep).y, fused.y, tol_elementwise(dt));
          if (!keep) continue;
          CHECK(cuda_test::same_values(fused.z, z));
          if (op == UnaryOp::silu) CHECK(cuda_test::same_values(fused.sigmoid, sigmoid(z)));
          const Tensor dz = bias_activation_backward(op, {}, fused, gpu(dy));
          const Tensor want = Tensor::empty(z.shape(), dt, Device::cuda);
          be.unary_backward(op, {}, z, y, gpu(dy), want);
          CHECK(cuda_test::same_values(dz, want));
        }
  }
}

TEST_CASE("binary ops, broadcasting, comparisons and where") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(2);
  for (DType dt : kFloats) {
    const Tensor a = uniform({4, 1, 37}, 0.5, 2.0, gen, dt);
    const Tensor b = uniform({3, 37}, 0.5, 2.0, gen, dt);
    const Tensor c = uniform({37, 3}, 0.5, 2.0, gen, dt).mT();  // strided
    CHECK_PARITY(label("add broadcast", dt), add(a, b), add(gpu(a), gpu(b)), tol_elementwise(dt));
    CHECK_PARITY(label("sub strided", dt), sub(a, c), sub(gpu(a), gpu(c)), tol_elementwise(dt));
    CHECK_PARITY(label("mul", dt), mul(b, c), mul(gpu(b), gpu(c)), tol_elementwise(dt));
    CHECK_PARITY(label("div", dt), div(a, b), div(gpu(a), gpu(b)), tol_elementwise(dt));
    CHECK_PARITY(label("pow", dt), pow(a, b), pow(gpu(a), gpu(b)), Tol{1e-6, 1e-5});
    CHECK_PARITY(label("maximum", dt), maximum(a, c), maximum(gpu(a), gpu(c)), tol_elementwise(dt));
    CHECK_PARITY(label("minimum scalar", dt), minimum(a, 1.0), minimum(gpu(a), 1.0), tol_elementwise(dt));
    CHECK_PARITY(label("scalar ops", dt), 2.0 - a * 3.0 / b + 1.0, 2.0 - gpu(a) * 3.0 / gpu(b) + 1.0,
                 tol_elementwise(dt));
    CHECK(cuda_test::same_values(lt(a, b), lt(gpu(a), gpu(b))));
    CHECK(cuda_test::same_values(ge(a, c), ge(gpu(a), gpu(c))));
    CHECK(cuda_test::same_values(eq(b, c), eq(gpu(b), gpu(c))));
    CHECK(cuda_test::same_values(ne(a, 1.0), ne(gpu(a), 1.0)));
    CHECK_PARITY(label("where", dt), where(gt(a, b), a, c), where(gt(gpu(a), gpu(b)), gpu(a), gpu(c)),
                 tol_elementwise(dt));
    // NaN propagation in maximum, as on the CPU.
    const Tensor n = tensor({1.0, NAN, 3.0}).to(dt);
    CHECK_PARITY(label("maximum NaN", dt), maximum(n, 2.0), maximum(gpu(n), 2.0), tol_elementwise(dt));
  }
  const Tensor i1 = randint(-9, 9, {5, 6}, gen), i2 = randint(1, 9, {6}, gen);
  CHECK(cuda_test::same_values(add(i1, i2), add(gpu(i1), gpu(i2))));
  CHECK(cuda_test::same_values(mul(i1, i2), mul(gpu(i1), gpu(i2))));
}

TEST_CASE("copies, dtype conversion, fill, concat") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(3);
  const Tensor x = randn({6, 10}, gen, DType::f64) * 5.0;
  for (DType to : {DType::f32, DType::i32, DType::i64, DType::b8})
    CHECK_MESSAGE(cuda_test::same_values(x.to(to), gpu(x).to(to)), "to ", to);
  CHECK(cuda_test::same_values(x.mT().contiguous(), gpu(x).mT().contiguous()));
  CHECK(cuda_test::same_values(x.slice(0, 1, 5, 2).clone(), gpu(x).slice(0, 1, 5, 2).clone()));
  Tensor g = zeros({4, 5}, DType::f32, Device::cuda);
  g.slice(1, 1, 4).fill_(2.5);
  Tensor c = zeros({4, 5});
  c.slice(1, 1, 4).fill_(2.5);
  CHECK(cuda_test::same_values(c, g));
  g.copy_(x.slice(0, 0, 4).slice(1, 0, 5));  // from the CPU, converting f64 -> f32
  CHECK(cuda_test::same_values(g, x.slice(0, 0, 4).slice(1, 0, 5).to(DType::f32)));
  CHECK(cuda_test::same_values(concat({x, x * 2.0}, 1), concat({gpu(x), gpu(x) * 2.0}, 1)));
  CHECK(cuda_test::same_values(stack({x, x}, 0), stack({gpu(x), gpu(x)}, 0)));
}

TEST_CASE("reductions over every axis set, and arg reductions") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(4);
  for (DType dt : kFloats) {
    const Tensor x = randn({5, 6, 7}, gen, dt);
    const std::vector<Axes> axis_sets = {{}, {0}, {1}, {2}, {0, 1}, {0, 2}, {1, 2}, {0, 1, 2}};
    for (const Axes& axes : axis_sets) {
      std::string what = "over axes";
      for (int64_t a : axes) what += fmt::format(" {}", a);
      CHECK_PARITY(label(fmt::format("sum {}", what), dt), sum(x, axes), sum(gpu(x), axes), tol_sum(dt));
      CHECK_PARITY(label(fmt::format("max {}", what), dt), max(x, axes, true), max(gpu(x), axes, true),
                   tol_elementwise(dt));
      CHECK_PARITY(label(fmt::format("min {}", what), dt), min(x.mT(), axes), min(gpu(x).mT(), axes),
                   tol_elementwise(dt));
      CHECK_PARITY(label(fmt::format("mean {}", what), dt), mean(x, axes), mean(gpu(x), axes), tol_sum(dt));
    }
    CHECK_PARITY(label("var", dt), var(x, {1}), var(gpu(x), {1}), tol_sum(dt));
    CHECK_PARITY(label("logsumexp", dt), logsumexp(x, {2}), logsumexp(gpu(x), {2}), tol_sum(dt));
    CHECK_PARITY(label("norm", dt), norm(x, 2.0, {0, 2}), norm(gpu(x), 2.0, {0, 2}), tol_sum(dt));
    // Long rows and long columns take the chunked (two-pass) paths.
    const Tensor row = randn({3, 200000}, gen, dt), col = randn({100000, 5}, gen, dt);
    CHECK_PARITY(label("sum of long rows", dt), sum(row, {1}), sum(gpu(row), {1}), Tol{1e-3, 1e-4});
    CHECK_PARITY(label("sum of long columns", dt), sum(col, {0}), sum(gpu(col), {0}), Tol{1e-3, 1e-4});
    CHECK_PARITY(label("max of long columns", dt), max(col, {0}), max(gpu(col), {0}), tol_elementwise(dt));
    CHECK_PARITY(label("sum all", dt), sum(row), sum(gpu(row)), Tol{1e-3, 1e-4});
    for (int64_t axis : {0, 1, 2}) {
      CHECK(cuda_test::same_values(argmax(x, axis), argmax(gpu(x), axis)));
      CHECK(cuda_test::same_values(argmin(x, axis, true), argmin(gpu(x), axis, true)));
    }
    CHECK(cuda_test::same_values(argmax(row, 1), argmax(gpu(row), 1)));
    // Ties pick the first index; NaN wins.
    const Tensor ties = tensor({1, 3, 3, 0, 2, NAN, 5, NAN}, {2, 4}).to(dt);
    CHECK(cuda_test::same_values(argmax(ties, 1), argmax(gpu(ties), 1)));
    CHECK(cuda_test::same_values(argmin(ties, 1), argmin(gpu(ties), 1)));
  }
  const Tensor xi = randint(-100, 100, {9, 11}, gen);
  CHECK(cuda_test::same_values(sum(xi, {1}), sum(gpu(xi), {1})));
  CHECK(cuda_test::same_values(max(xi, {0}), max(gpu(xi), {0})));
  CHECK(cuda_test::same_values(sum(gt(xi, 0.0)), sum(gt(gpu(xi), 0.0))));
}

TEST_CASE("softmax, log_softmax and cumsum along any axis") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(5);
  for (DType dt : kFloats) {
    const Tensor x = randn({4, 9, 300}, gen, dt) * 4.0;
    for (int64_t axis : {0, 1, 2}) {
      CHECK_PARITY(label(fmt::format("softmax axis {}", axis), dt), softmax(x, axis), softmax(gpu(x), axis),
                   Tol{1e-7, 1e-5});
      CHECK_PARITY(label(fmt::format("log_softmax axis {}", axis), dt), log_softmax(x, axis), log_softmax(gpu(x), axis),
                   Tol{1e-5, 1e-5});
      CHECK_PARITY(label(fmt::format("cumsum axis {}", axis), dt), cumsum(x, axis), cumsum(gpu(x), axis), tol_sum(dt));
    }
    const Tensor inf_row = tensor({-INFINITY, -INFINITY, 0.0, 1.0, -INFINITY, 2.0}, {2, 3}).to(dt);
    CHECK_PARITY(label("softmax with -inf", dt), softmax(inf_row, 1), softmax(gpu(inf_row), 1), tol_elementwise(dt));
  }
}

TEST_CASE("gather, scatter_add, index_select, index_add, one_hot") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(6);
  for (DType dt : kFloats) {
    const Tensor x = randn({6, 8}, gen, dt);
    const Tensor idx = randint(-8, 8, {6, 5}, gen);  // negative indices count from the end
    CHECK(cuda_test::same_values(gather(x, 1, idx), gather(gpu(x), 1, gpu(idx))));
    CHECK(cuda_test::same_values(gather(x.mT(), 0, idx.mT().slice(0, 0, 5)),
                                 gather(gpu(x).mT(), 0, gpu(idx).mT().slice(0, 0, 5))));
    const Tensor src = randn({6, 5}, gen, dt);
    CHECK_PARITY(label("scatter_add (repeated indices)", dt), scatter_add(x, 1, idx, src),
                 scatter_add(gpu(x), 1, gpu(idx), gpu(src)), tol_sum(dt));
    const Tensor rows = from_vector<int64_t>({3, 0, 3, 5, -1, 3}, {6});
    CHECK(cuda_test::same_values(index_select(x, 0, rows), index_select(gpu(x), 0, gpu(rows))));
    CHECK(cuda_test::same_values(index_select(x, 1, rows), index_select(gpu(x), 1, gpu(rows))));
    Tensor acc_cpu = zeros({6, 8}, dt), acc_gpu = zeros({6, 8}, dt, Device::cuda);
    const Tensor add_src = randn({6, 8}, gen, dt);
    index_add_(acc_cpu, 0, rows, add_src);
    index_add_(acc_gpu, 0, gpu(rows), gpu(add_src));
    CHECK_PARITY(label("index_add (embedding backward)", dt), acc_cpu, acc_gpu, tol_sum(dt));
  }
  const Tensor labels = from_vector<int64_t>({2, 0, 4}, {3});
  CHECK(cuda_test::same_values(one_hot(labels, 5), one_hot(gpu(labels), 5)));
}

TEST_CASE("sort and topk match the CPU exactly") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(7);
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    // Ties (small integer range) and NaN exercise the total order.
    Tensor x = randint(0, 20, {5, 37}, gen).to(dt);
    if (is_floating(dt)) x = where(eq(x, 7.0), full({}, NAN, dt), x);
    for (bool desc : {false, true}) {
      const ValuesIndices c = sort(x, 1, desc), g = sort(gpu(x), 1, desc);
      CHECK_MESSAGE(cuda_test::same_values(c.values, g.values), "sort values ", dt, desc);
      CHECK_MESSAGE(cuda_test::same_values(c.indices, g.indices), "sort indices ", dt, desc);
      const ValuesIndices c0 = sort(x, 0, desc), g0 = sort(gpu(x), 0, desc);
      CHECK(cuda_test::same_values(c0.indices, g0.indices));
    }
    for (bool largest : {true, false}) {
      const ValuesIndices c = topk(x, 6, 1, largest), g = topk(gpu(x), 6, 1, largest);
      CHECK(cuda_test::same_values(c.values, g.values));
      CHECK(cuda_test::same_values(c.indices, g.indices));
    }
  }
  // A vocabulary-sized row takes the global-memory path.
  const Tensor logits = randn({3, 50257}, gen);
  const ValuesIndices c = topk(logits, 40, 1), g = topk(gpu(logits), 40, 1);
  CHECK(cuda_test::same_values(c.indices, g.indices));
  CHECK(cuda_test::same_values(argsort(logits, 1), argsort(gpu(logits), 1)));
}

TEST_CASE("matmul and linear through cuBLAS") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(8);
  for (DType dt : kFloats) {
    const Tol tol = dt == DType::f64 ? Tol{1e-11, 1e-10} : Tol{1e-4, 1e-4};
    const Tensor a = randn({37, 53}, gen, dt), b = randn({53, 29}, gen, dt);
    CHECK_PARITY(label("matmul", dt), matmul(a, b), matmul(gpu(a), gpu(b)), tol);
    CHECK_PARITY(label("matmul a^T b^T", dt), matmul(b.mT(), a.mT()), matmul(gpu(b).mT(), gpu(a).mT()), tol);
    const Tensor ba = randn({3, 4, 17, 23}, gen, dt), bb = randn({4, 23, 11}, gen, dt);
    CHECK_PARITY(label("batched matmul, broadcast batch", dt), matmul(ba, bb), matmul(gpu(ba), gpu(bb)), tol);
    CHECK_PARITY(label("batched matmul, permuted", dt), matmul(ba.permute({1, 0, 2, 3}), bb.unsqueeze(1)),
                 matmul(gpu(ba).permute({1, 0, 2, 3}), gpu(bb).unsqueeze(1)), tol);
    const Tensor v = randn({53}, gen, dt);
    CHECK_PARITY(label("matrix-vector", dt), matmul(a, v), matmul(gpu(a), gpu(v)), tol);
    CHECK_PARITY(label("vector-matrix", dt), matmul(v, b), matmul(gpu(v), gpu(b)), tol);
    const Tensor x = randn({2, 9, 53}, gen, dt), w = randn({31, 53}, gen, dt), bias = randn({31}, gen, dt);
    CHECK_PARITY(label("linear with bias", dt), linear(x, w, bias), linear(gpu(x), gpu(w), gpu(bias)), tol);
    CHECK_PARITY(label("linear, no bias, strided weight", dt), linear(x, w.mT().contiguous().mT()),
                 linear(gpu(x), gpu(w.mT().contiguous()).mT()), tol);
    const Tensor empty_k = randn({4, 0}, gen, dt);
    CHECK_PARITY(label("matmul with K = 0", dt), matmul(empty_k, randn({0, 3}, gen, dt)),
                 matmul(gpu(empty_k), zeros({0, 3}, dt, Device::cuda)), tol);
  }
  // Small linear algebra runs on the CPU and returns to the input's device.
  const Tensor s = randn({6, 6}, gen, DType::f64);
  const Tensor sym = s + s.mT();
  const Eigh e = eigh(gpu(sym));
  CHECK(e.eigenvalues.is_cuda());
  CHECK_PARITY("eigh eigenvalues", eigh(sym).eigenvalues, e.eigenvalues, Tol{1e-12, 1e-12});
  const Svd sv = svd(gpu(s));
  CHECK_PARITY("svd singular values", svd(s).S, sv.S, Tol{1e-12, 1e-12});
}

TEST_CASE("layer norm forward and backward") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(9);
  for (DType dt : kFloats) {
    const Tol tol = dt == DType::f64 ? Tol{1e-12, 1e-10} : Tol{1e-5, 1e-4};
    for (int64_t C : {7, 768, 3000}) {
      const Tensor x = randn({37, C}, gen, dt) * 3.0 + 1.0, w = randn({C}, gen, dt), b = randn({C}, gen, dt);
      const Tensor dy = randn({37, C}, gen, dt);
      const LayerNormForward fc = layer_norm_forward(x, w, b, 1e-5);
      const LayerNormForward fg = layer_norm_forward(gpu(x), gpu(w), gpu(b), 1e-5);
      const std::string what = fmt::format("layer_norm C {}", C);
      CHECK_PARITY(label(what + " y", dt), fc.y, fg.y, tol);
      CHECK_PARITY(label(what + " mean", dt), fc.mean, fg.mean, tol);
      CHECK_PARITY(label(what + " rstd", dt), fc.rstd, fg.rstd, tol);
      const LayerNormGrads gc = layer_norm_backward(dy, x, w, fc.mean, fc.rstd);
      const LayerNormGrads gg = layer_norm_backward(gpu(dy), gpu(x), gpu(w), fg.mean, fg.rstd);
      CHECK_PARITY(label(what + " dx", dt), gc.dx, gg.dx, tol);
      CHECK_PARITY(label(what + " dweight", dt), gc.dweight, gg.dweight, tol);
      CHECK_PARITY(label(what + " dbias", dt), gc.dbias, gg.dbias, tol);
    }
    const Tensor x = randn({5, 12}, gen, dt);
    const LayerNormForward nc = layer_norm_forward(x, Tensor(), Tensor(), 0.1);
    const LayerNormForward ng = layer_norm_forward(gpu(x), Tensor(), Tensor(), 0.1);
    CHECK_PARITY(label("layer_norm without weight and bias", dt), nc.y, ng.y, tol_sum(dt));
  }
}

TEST_CASE("fused attention forward and backward") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(10);
  struct Case {
    int64_t B, H, T, D;
    bool causal, masked, strided;
  };
  const Case cases[] = {{2, 3, 17, 8, true, false, false},    {1, 2, 130, 64, true, false, true},
                        {2, 2, 70, 32, false, true, false},   {1, 1, 5, 100, true, true, false},
                        {1, 2, 33, 200, false, false, false}, {2, 12, 128, 64, true, false, true}};
  for (DType dt : kFloats) {
    const Tol tol = dt == DType::f64 ? Tol{1e-11, 1e-9} : Tol{2e-5, 2e-4};
    for (const Case& c : cases) {
      const std::string what =
          fmt::format("attention B{} H{} T{} D{}{}{}{}", c.B, c.H, c.T, c.D, c.causal ? " causal" : "",
                      c.masked ? " masked" : "", c.strided ? " strided" : "");
      auto make = [&] {
        if (!c.strided) return randn({c.B, c.H, c.T, c.D}, gen, dt);
        return randn({c.B, c.T, c.H, c.D}, gen, dt).permute({0, 2, 1, 3});  // as a fused qkv projection gives
      };
      const Tensor q = make(), k = make(), v = make();
      const Tensor dout = randn({c.B, c.H, c.T, c.D}, gen, dt);
      Tensor mask;
      if (c.masked) {
        mask = gt(rand({c.B, c.T}, gen), 0.3);
        mask.select(0, 0).narrow(0, 0, 1).fill_(0.0);  // batch 0's first key hidden: a causal query sees nothing
      }
      const Tensor mask_gpu = mask.defined() ? gpu(mask) : Tensor();
      const AttentionForward fc = attention_forward(q, k, v, c.causal, mask);
      const AttentionForward fg = attention_forward(gpu(q), gpu(k), gpu(v), c.causal, mask_gpu);
      CHECK_PARITY(label(what + " out", dt), fc.out, fg.out, tol);
      CHECK_PARITY(label(what + " lse", dt), fc.lse, fg.lse, tol);
      const AttentionGrads gc = attention_backward(dout, q, k, v, fc.out, fc.lse, c.causal, mask);
      const AttentionGrads gg =
          attention_backward(gpu(dout), gpu(q), gpu(k), gpu(v), fg.out, fg.lse, c.causal, mask_gpu);
      CHECK_PARITY(label(what + " dq", dt), gc.dq, gg.dq, tol);
      CHECK_PARITY(label(what + " dk", dt), gc.dk, gg.dk, tol);
      CHECK_PARITY(label(what + " dv", dt), gc.dv, gg.dv, tol);
    }
  }
}

TEST_CASE("fused cross-entropy forward and backward") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(11);
  for (DType dt : kFloats) {
    for (int64_t C : {5, 1000, 50257}) {
      const Tensor logits = randn({19, C}, gen, dt) * 3.0;
      Tensor target = randint(0, C, {19}, gen);
      target.narrow(0, 3, 2).fill_(-1.0);  // ignored rows
      const CrossEntropyForward fc = cross_entropy_forward(logits, target);
      const CrossEntropyForward fg = cross_entropy_forward(gpu(logits), gpu(target));
      const std::string what = fmt::format("cross_entropy C {}", C);
      CHECK_PARITY(label(what + " loss", dt), fc.loss, fg.loss, tol_sum(dt));
      CHECK_PARITY(label(what + " lse", dt), fc.lse, fg.lse, tol_sum(dt));
      const Tensor dloss = rand({19}, gen, dt);
      CHECK_PARITY(label(what + " dlogits", dt), cross_entropy_backward(logits, target, fc.lse, dloss),
                   cross_entropy_backward(gpu(logits), gpu(target), fg.lse, gpu(dloss)), tol_elementwise(dt));
    }
  }
}

TEST_CASE("fused AdamW and Adam steps over a parameter list") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(12);
  for (bool decoupled : {true, false}) {
    std::vector<Tensor> pc, gc, mc, vc, pg, gg, mg, vg;
    for (Shape s : {Shape{3, 4}, Shape{1000}, Shape{7}, Shape{0}, Shape{33, 65}})
      for (DType dt : kFloats) {
        pc.push_back(randn(s, gen, dt));
        gc.push_back(randn(s, gen, dt));
        mc.push_back(randn(s, gen, dt) * 0.1);
        vc.push_back(rand(s, gen, dt) * 0.1);
        pg.push_back(gpu(pc.back()));
        gg.push_back(gpu(gc.back()));
        mg.push_back(gpu(mc.back()));
        vg.push_back(gpu(vc.back()));
      }
    const AdamHyperparams h{1e-2, 0.9, 0.999, 1e-8, 0.1, decoupled, 3};
    for (int step = 0; step < 3; ++step) {
      adam_step_(pc, gc, mc, vc, h);
      adam_step_(pg, gg, mg, vg, h);
    }
    for (size_t i = 0; i < pc.size(); ++i) {
      const Tol tol = pc[i].dtype() == DType::f64 ? Tol{1e-13, 1e-12} : Tol{1e-6, 1e-5};
      CHECK_PARITY(fmt::format("adam p[{}] decoupled {}", i, decoupled), pc[i], pg[i], tol);
      CHECK_PARITY(fmt::format("adam m[{}]", i), mc[i], mg[i], tol);
      CHECK_PARITY(fmt::format("adam v[{}]", i), vc[i], vg[i], tol);
    }
  }
}

TEST_CASE("Philox random numbers and dropout masks are the CPU's") {
  REQUIRE_GPU_OR_SKIP();
  for (DType dt : kFloats) {
    Generator a(42), b(42);
    CHECK_MESSAGE(cuda_test::same_values(rand({1001}, a, dt), rand({1001}, b, dt, Device::cuda)), "rand ", dt);
    a.set_offset(17);
    b.set_offset(17);
    CHECK_PARITY(label("uniform(-2, 3)", dt), uniform({333}, -2, 3, a, dt), uniform({333}, -2, 3, b, dt, Device::cuda),
                 Tol{0, 1e-15});
    CHECK_PARITY(label("randn", dt), randn({1001}, a, dt), randn({1001}, b, dt, Device::cuda),
                 dt == DType::f64 ? Tol{1e-14, 1e-13} : Tol{1e-6, 1e-6});
    CHECK(a.offset() == b.offset());
    const Tensor x = ones({513}, dt);
    CHECK_MESSAGE(cuda_test::same_values(dropout(x, 0.3, 9, 5), dropout(gpu(x), 0.3, 9, 5)), "dropout ", dt);
  }
  Generator a(7), b(7);
  CHECK(cuda_test::same_values(randint(-5, 1000, {999}, a), randint(-5, 1000, {999}, b, DType::i64, Device::cuda)));
  CHECK(cuda_test::same_values(randint(0, 3, {64}, a, DType::i32), randint(0, 3, {64}, b, DType::i32, Device::cuda)));
}
