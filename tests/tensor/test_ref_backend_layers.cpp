// The reference backend (tensor/ref/) against the CPU backend, part two:
// gather, scatter and index ops, sorting, layer norm, attention, dropout,
// Adam, cross entropy and random fills, on the same inputs on Device::cpu and
// on Device::ref in the layouts and dtypes each op takes. f64 results agree
// to 1e-12, integer ones exactly, f32 ones within the tolerance each case
// states, random fills and dropout masks bit for bit. Part one
// (test_ref_backend.cpp) covers the backend itself and the elementwise,
// reduction and product kernels.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tensor/fused_layers.h"
#include "tensor/fused_losses.h"
#include "tensor/ops.h"
#include "tensor/optim_kernels.h"
#include "tensor/random.h"
#include "tests/error_of.h"
#include "tests/tensor/ref_backend_compare.h"

using namespace gradlab;
using namespace gradlab::test;

TEST_CASE("ref backend: gather, scatter_add, index_select, index_add") {
  // Sums of duplicates: the CPU adds in the element type, rounding each
  // partial sum, the reference in double, rounding once: for f32, a few
  // roundings of partial sums up to ~30 (ulp 2e-6 to 4e-6).
  const Tol f32_sum{1e-6, 1e-5};
  for (DType index_dt : {DType::i32, DType::i64})
    for (Layout layout : kLayouts) {
      const Both index = input({3, 6}, index_dt, Layout::contiguous, 71, -5, 5);  // negative: from the end
      for (DType dt : kAllDTypes) {
        const std::string what = fmt::format("{} {} index {}", dt, layout_name(layout), index_dt);
        const Both x = input({4, 5}, dt, layout, 72, -9, 9);
        check_same(gather(x.cpu, 1, index.cpu), gather(x.ref, 1, index.ref), kExact, "gather " + what);
        const Both rows = input({5}, index_dt, Layout::contiguous, 73, -4, 4);
        for (int64_t axis : {0, 1})
          check_same(index_select(x.cpu, axis, rows.cpu), index_select(x.ref, axis, rows.ref), kExact,
                     "index_select " + what);
        if (dt == DType::b8) continue;
        const Both src = input({3, 6}, dt, layout, 74, -9, 9);
        check_same(scatter_add(x.cpu.contiguous(), 1, index.cpu, src.cpu),
                   scatter_add(x.ref.contiguous(), 1, index.ref, src.ref), tol_for(dt, f32_sum), "scatter_add " + what);
        const Both add = input({4, 5}, dt, layout, 75, -9, 9);  // [4, m = 5] along axis 1
        auto index_add = [&](const Tensor& base, const Tensor& idx, const Tensor& s) {
          Tensor out = base.clone();
          index_add_(out, 1, idx, s);
          return out;
        };
        check_same(index_add(x.cpu, rows.cpu, add.cpu), index_add(x.ref, rows.ref, add.ref), tol_for(dt, f32_sum),
                   "index_add " + what);
      }
    }
  // scatter_add_ into a transposed (strided) destination.
  {
    const Both base = input({5, 4}, DType::f64, Layout::contiguous, 76);
    const Both index = input({2, 5}, DType::i64, Layout::contiguous, 77, 0, 4);
    const Both src = input({2, 5}, DType::f64, Layout::contiguous, 78);
    auto go = [](const Tensor& b, const Tensor& i, const Tensor& s) {
      Tensor out = b.clone();
      Tensor t = out.mT();  // [4, 5], strides (1, 4)
      scatter_add_(t, 0, i, s);
      return out;
    };
    check_same(go(base.cpu, index.cpu, src.cpu), go(base.ref, index.ref, src.ref), kF64, "scatter_add_ strided");
  }
  // An index out of range: the same error, and the in-place ops leave their tensor as it was.
  {
    const Both x = input({3, 4}, DType::f32, Layout::contiguous, 79);
    const Both bad = both(tensor({0, 2, 4}, {1, 3}, DType::i64));  // 4 is out of range for an axis of 4
    const Both src = input({1, 3}, DType::f32, Layout::contiguous, 80);
    Tensor t = x.ref.clone();
    CHECK_THROWS_AS(scatter_add_(t, 1, bad.ref, src.ref), Error);
    check_same(x.cpu, t, kExact, "untouched after a failed scatter_add_");
    const Both bad_rows = both(tensor({1, -5}, {}, DType::i32));
    Tensor u = x.ref.clone();
    CHECK_THROWS_AS(index_add_(u, 1, bad_rows.ref, zeros({3, 2}, DType::f32, Device::ref)), Error);
    check_same(x.cpu, u, kExact, "untouched after a failed index_add_");
    CHECK(error_of([&] { gather(x.cpu, 1, bad.cpu); }) == error_of([&] { gather(x.ref, 1, bad.ref); }));
    CHECK(error_of([&] { index_select(x.cpu, 1, bad_rows.cpu); }) ==
          error_of([&] { index_select(x.ref, 1, bad_rows.ref); }));
    CHECK(!error_of([&] { gather(x.ref, 1, bad.ref); }).empty());
  }
}

TEST_CASE("ref backend: sort, argsort and topk (stable, NaN largest, ties by index)") {
  for (DType dt : kNumericDTypes)
    for (Layout layout : kLayouts) {
      // Integers in a small range: many ties.
      const Both x = input({4, 6}, dt, layout, 81, -3, 3);
      for (int64_t axis : {0, 1})
        for (bool descending : {false, true}) {
          const std::string what =
              fmt::format("{} {} axis {} descending {}", dt, layout_name(layout), axis, descending);
          const auto [vc, ic] = sort(x.cpu, axis, descending);
          const auto [vr, ir] = sort(x.ref, axis, descending);
          check_same(vc, vr, kExact, "sort values " + what);
          check_same(ic, ir, kExact, "sort indices " + what);
          for (int64_t k : {int64_t(0), int64_t(1), int64_t(3), x.cpu.size(axis)}) {
            const auto [tvc, tic] = topk(x.cpu, k, axis, descending);
            const auto [tvr, tir] = topk(x.ref, k, axis, descending);
            check_same(tvc, tvr, kExact, fmt::format("topk k {} values {}", k, what));
            check_same(tic, tir, kExact, fmt::format("topk k {} indices {}", k, what));
          }
        }
    }
  // NaN (largest: last ascending, first descending), infinities, signed zeros and ties, in a row and down columns.
  for (DType dt : kFloatDTypes) {
    const double inf = INFINITY;
    const Both x = both(tensor({1, NAN, -0.0, 0.0, 2, NAN, -inf, 1, inf, 0.0, 2, -0.0}, {2, 6}, dt));
    for (const Both& t : {x, view(x, [](const Tensor& v) { return v.mT(); })})
      for (bool descending : {false, true}) {
        const auto [vc, ic] = sort(t.cpu, -1, descending);
        const auto [vr, ir] = sort(t.ref, -1, descending);
        check_same(vc, vr, kExact, "sort NaN values");
        check_same(ic, ir, kExact, "sort NaN indices");
        CHECK(argsort(t.ref, 0, descending).to_vector<int64_t>() == argsort(t.cpu, 0, descending).to_vector<int64_t>());
        const auto [tvc, tic] = topk(t.cpu, 2, -1, descending);
        const auto [tvr, tir] = topk(t.ref, 2, -1, descending);
        check_same(tvc, tvr, kExact, "topk NaN values");
        check_same(tic, tir, kExact, "topk NaN indices");
      }
  }
  check_same(sort(scalar(3.0, DType::f64)).values, sort(scalar(3.0, DType::f64, Device::ref)).values, kExact, "0-d");
}

TEST_CASE("ref backend: layer norm forward and backward") {
  // f32: both compute the statistics and every output in double and round
  // once; only the order of the row sums differs: a few ulp.
  const Tol f32{1e-6, 2e-6};
  for (DType dt : kFloatDTypes)
    for (Layout layout : kLayouts)
      for (bool affine : {false, true}) {
        const std::string what = fmt::format("{} {} affine {}", dt, layout_name(layout), affine);
        const Both x = input({2, 3, 9}, dt, layout, 91, -3, 5);
        const Both w = affine ? input({9}, dt, Layout::contiguous, 92) : Both{};
        const Both b = affine ? input({9}, dt, Layout::contiguous, 93) : Both{};
        const LayerNormForward fc = layer_norm_forward(x.cpu, w.cpu, b.cpu, 1e-5);
        const LayerNormForward fr = layer_norm_forward(x.ref, w.ref, b.ref, 1e-5);
        check_same(fc.y, fr.y, tol_for(dt, f32), "y " + what);
        check_same(fc.mean, fr.mean, tol_for(dt, f32), "mean " + what);
        check_same(fc.rstd, fr.rstd, tol_for(dt, f32), "rstd " + what);
        // The backward from the same saved statistics (the CPU's) on both sides.
        const Both dy = input({2, 3, 9}, dt, layout, 94);
        const LayerNormGrads gc = layer_norm_backward(dy.cpu, x.cpu, w.cpu, fc.mean, fc.rstd);
        const LayerNormGrads gr =
            layer_norm_backward(dy.ref, x.ref, w.ref, fc.mean.to(Device::ref), fc.rstd.to(Device::ref));
        check_same(gc.dx, gr.dx, tol_for(dt, f32), "dx " + what);
        check_same(gc.dweight, gr.dweight, tol_for(dt, f32), "dweight " + what);
        check_same(gc.dbias, gr.dbias, tol_for(dt, f32), "dbias " + what);
      }
}

TEST_CASE("ref backend: attention forward and backward, causal and key masks, strided q, k, v") {
  const int64_t B = 2, H = 3, T = 6, D = 5;
  // f32: the CPU forms the scores and products with f32 GEMMs and f32 exp,
  // the reference in double; the bounds of tests/tensor/test_ref_kernels.cpp:
  // 3e-5 for outputs, scaled by 4 sqrt(T) for the gradients (sums of T terms).
  const Tol f32_out{0, 3e-5}, f32_grad{0, 3e-5 * 4 * std::sqrt(double(T))};
  for (DType dt : kFloatDTypes)
    for (bool causal : {false, true})
      for (bool masked : {false, true})
        for (bool strided : {false, true}) {
          const std::string what = fmt::format("{} causal {} masked {} strided {}", dt, causal, masked, strided);
          // Strided: [B, T, H, D] tensors viewed as [B, H, T, D], as a fused qkv projection leaves them.
          auto make = [&](uint64_t seed) {
            if (!strided) return input({B, H, T, D}, dt, Layout::contiguous, seed);
            return view(input({B, T, H, D}, dt, Layout::contiguous, seed),
                        [](const Tensor& t) { return t.transpose(1, 2); });
          };
          const Both q = make(101), k = make(102), v = make(103), dout = make(104);
          // Batch entry 1 sees no key at all: zero outputs, lse = -inf, no gradient.
          const Both mask =
              masked ? both(ne(tensor({1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0}, {B, T}, DType::i64), 0.0)) : Both{};
          const AttentionForward fc = attention_forward(q.cpu, k.cpu, v.cpu, causal, mask.cpu);
          const AttentionForward fr = attention_forward(q.ref, k.ref, v.ref, causal, mask.ref);
          check_same(fc.out, fr.out, tol_for(dt, f32_out), "out " + what);
          check_same(fc.lse, fr.lse, tol_for(dt, f32_out), "lse " + what);
          const AttentionGrads gc = attention_backward(dout.cpu, q.cpu, k.cpu, v.cpu, fc.out, fc.lse, causal, mask.cpu);
          const AttentionGrads gr = attention_backward(dout.ref, q.ref, k.ref, v.ref, fc.out.to(Device::ref),
                                                       fc.lse.to(Device::ref), causal, mask.ref);
          check_same(gc.dq, gr.dq, tol_for(dt, f32_grad), "dq " + what);
          check_same(gc.dk, gr.dk, tol_for(dt, f32_grad), "dk " + what);
          check_same(gc.dv, gr.dv, tol_for(dt, f32_grad), "dv " + what);
        }
}

TEST_CASE("ref backend: dropout draws the CPU's mask bit for bit") {
  for (DType dt : kFloatDTypes)
    for (Layout layout : kLayouts)
      for (double p : {0.0, 0.1, 0.5, 0.9})
        for (uint64_t offset : {uint64_t(0), uint64_t(13), (uint64_t(1) << 33) + 5}) {
          const std::string what = fmt::format("{} {} p {} offset {}", dt, layout_name(layout), p, offset);
          const Both x = input({7, 13}, dt, layout, 111);  // 91 elements: not a whole number of CPU batches
          check_same(map(x, [&](const Tensor& t) { return dropout(t, p, 0xC0FFEE, offset); }), kExact, what);
        }
  const Both big = input({1000}, DType::f32, Layout::contiguous, 112);
  check_same(map(big, [](const Tensor& t) { return dropout(t, 0.3, 7, 99); }), kExact, "1000 elements");
  // NaN and infinities: dropped ones stay NaN (x * 0) on both sides.
  const Both special = both(tensor({NAN, INFINITY, -INFINITY, 1, NAN, INFINITY, -INFINITY, 2}, {}, DType::f64));
  check_same(map(special, [](const Tensor& t) { return dropout(t, 0.5, 1, 0); }), kExact, "special values");
}

TEST_CASE("ref backend: Adam and AdamW steps over a parameter list") {
  // f32: the CPU updates in f32 with its coefficients rounded to f32, the
  // reference in double, rounding once into p, m and v: a few ulp of each, and
  // an ulp of the parameters' size (~1) where p - step cancels.
  const Tol f32{2e-6, 1.2e-7};
  for (bool decoupled : {false, true}) {
    INFO("decoupled ", decoupled);
    // One f32 and one f64 parameter; the gradient of the first is a transposed view.
    const Both p0 = input({5, 3}, DType::f32, Layout::contiguous, 121),
               p1 = input({7}, DType::f64, Layout::contiguous, 122);
    std::vector<Tensor> pc = {p0.cpu.clone(), p1.cpu.clone()}, pr = {p0.ref.clone(), p1.ref.clone()};
    std::vector<Tensor> mc = {zeros({5, 3}), zeros({7}, DType::f64)};
    std::vector<Tensor> vc = {zeros({5, 3}), zeros({7}, DType::f64)};
    std::vector<Tensor> mr = {zeros({5, 3}, DType::f32, Device::ref), zeros({7}, DType::f64, Device::ref)};
    std::vector<Tensor> vr = {zeros({5, 3}, DType::f32, Device::ref), zeros({7}, DType::f64, Device::ref)};
    for (int64_t step = 1; step <= 3; ++step) {
      const Both g0 = input({5, 3}, DType::f32, Layout::transposed, 123 + uint64_t(step));
      const Both g1 = input({7}, DType::f64, Layout::contiguous, 133 + uint64_t(step));
      const AdamHyperparams h{1e-2, 0.9, 0.999, 1e-8, 0.1, decoupled, step};
      adam_step_(pc, std::vector<Tensor>{g0.cpu, g1.cpu}, mc, vc, h);
      adam_step_(pr, std::vector<Tensor>{g0.ref, g1.ref}, mr, vr, h);
      for (size_t i = 0; i < 2; ++i) {
        const std::string what = fmt::format("step {} tensor {}", step, i);
        const Tol tol = tol_for(pc[i].dtype(), f32);
        check_same(pc[i], pr[i], tol, "p " + what);
        check_same(mc[i], mr[i], tol, "m " + what);
        check_same(vc[i], vr[i], tol, "v " + what);
      }
    }
  }
}

TEST_CASE("ref backend: cross entropy forward and backward, ignored targets") {
  // f32: the CPU exponentiates x - max in f32 (vm::exp) and sums in double;
  // the backward rounds exp(x - lse) dloss before subtracting dloss: a few
  // ulp of values up to ~2.
  const Tol f32{1e-6, 2e-6};
  const Both target = both(tensor({2, -100, 0, 4, -1, 3}, {}, DType::i64));
  for (DType dt : kFloatDTypes)
    for (Layout layout : kLayouts) {
      const std::string what = fmt::format("{} {}", dt, layout_name(layout));
      const Both logits = input({6, 5}, dt, layout, 141, -4, 4);
      const CrossEntropyForward fc = cross_entropy_forward(logits.cpu, target.cpu);
      const CrossEntropyForward fr = cross_entropy_forward(logits.ref, target.ref);
      check_same(fc.loss, fr.loss, tol_for(dt, f32), "loss " + what);
      check_same(fc.lse, fr.lse, tol_for(dt, f32), "lse " + what);
      const Both dloss = input({6}, dt, Layout::contiguous, 142);
      check_same(cross_entropy_backward(logits.cpu, target.cpu, fc.lse, dloss.cpu),
                 cross_entropy_backward(logits.ref, target.ref, fc.lse.to(Device::ref), dloss.ref), tol_for(dt, f32),
                 "dlogits " + what);
    }
  // Infinite and NaN logits.
  for (DType dt : kFloatDTypes) {
    const Both logits = both(tensor({INFINITY, 1, 2, -INFINITY, -INFINITY, -INFINITY, NAN, 0, 1}, {3, 3}, dt));
    const Both t = both(tensor({1, 0, 2}, {}, DType::i64));
    const CrossEntropyForward fc = cross_entropy_forward(logits.cpu, t.cpu);
    const CrossEntropyForward fr = cross_entropy_forward(logits.ref, t.ref);
    check_same(fc.loss, fr.loss, kExact, "loss special");
    check_same(fc.lse, fr.lse, kExact, "lse special");
  }
  // A target out of range: the same error on both.
  const Both logits = input({2, 3}, DType::f32, Layout::contiguous, 143);
  const Both bad = both(tensor({1, 3}, {}, DType::i64));
  const std::string err = error_of([&] { cross_entropy_forward(logits.ref, bad.ref); });
  CHECK(err == error_of([&] { cross_entropy_forward(logits.cpu, bad.cpu); }));
  CHECK(err.find("out of range") != std::string::npos);
}

TEST_CASE("ref backend: random fills follow the CPU's Philox streams bit for bit") {
  for (uint64_t seed : {uint64_t(0), uint64_t(42), uint64_t(0xDEADBEEFCAFEull)})
    for (const Shape& shape : {Shape{37}, Shape{3, 5}, Shape{}, Shape{0, 2}}) {
      const std::string what = fmt::format("seed {} shape {}", seed, shape);
      Generator gc(seed), gr(seed);
      gc.set_offset(5);
      gr.set_offset(5);
      for (int round = 0; round < 2; ++round) {  // consecutive draws read consecutive blocks
        for (DType dt : kFloatDTypes) {
          check_same(uniform(shape, -1.5, 3.25, gc, dt), uniform(shape, -1.5, 3.25, gr, dt, Device::ref), kExact,
                     "uniform " + what);
          check_same(rand(shape, gc, dt), rand(shape, gr, dt, Device::ref), kExact, "rand " + what);
          check_same(normal(shape, 0.3, 2.5, gc, dt), normal(shape, 0.3, 2.5, gr, dt, Device::ref), kExact,
                     "normal " + what);
          check_same(randn(shape, gc, dt), randn(shape, gr, dt, Device::ref), kExact, "randn " + what);
        }
        for (DType dt : {DType::i32, DType::i64})
          check_same(randint(-7, 100, shape, gc, dt), randint(-7, 100, shape, gr, dt, Device::ref), kExact,
                     "randint " + what);
        check_same(randint(0, int64_t(1) << 32, shape, gc),
                   randint(0, int64_t(1) << 32, shape, gr, DType::i64, Device::ref), kExact, "randint 2^32 " + what);
        CHECK(gc.offset() == gr.offset());
      }
    }
}
