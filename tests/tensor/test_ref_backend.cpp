// The reference backend (tensor/ref/) against the CPU backend, part one: the
// backend itself (its table, its memory, Tensor::to round trips,
// available_devices() and its errors for dtypes a kernel does not take), then
// copy, the unary, binary and comparison ops, reductions, matmul and softmax,
// each reached through its public op on the same inputs on Device::cpu and on
// Device::ref (views rebuilt alike on each side), in f64 and f32, with
// transposed, strided and expanded (stride-0) operands, the integer and b8
// dtypes each op takes, 0-d and empty tensors and NaN and infinities. f64
// results agree to 1e-12, integer and b8 ones exactly, f32 ones within the
// tolerance each case states. Part two (test_ref_backend_layers.cpp) covers
// the indexing, sorting, layer and optimiser kernels and random fills.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tensor/allocator.h"
#include "tensor/cpu/kernels.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tensor/ref/kernels.h"
#include "tests/error_of.h"
#include "tests/tensor/ref_backend_compare.h"

using namespace gradlab;
using namespace gradlab::test;

TEST_CASE("ref backend: registered with a full table and memory of its own") {
  CHECK(backend_available(Device::ref));
  const std::vector<Device> devices = available_devices();
  CHECK(std::find(devices.begin(), devices.end(), Device::ref) != devices.end());
  const Backend& be = backend(Device::ref);
  CHECK(&be == &ref::kBackend);
  CHECK(be.name == "ref");
  CHECK(be.host_memory);
  CHECK((be.raw_alloc != nullptr && be.raw_free != nullptr && be.copy_to_host != nullptr &&
         be.copy_from_host != nullptr && be.synchronize != nullptr));
#define GL_CHECK_ENTRY(k) CHECK_MESSAGE((be.k != nullptr), #k);
  GL_KERNEL_LIST(GL_CHECK_ENTRY)
#undef GL_CHECK_ENTRY
  // Kernels of its own, not the CPU's.
  CHECK((be.matmul != cpu::kBackend.matmul && be.copy != cpu::kBackend.copy));

  const MemoryStats before = memory_stats(Device::ref);
  {
    const Tensor r = Tensor::empty({1000}, DType::f64, Device::ref);
    CHECK(r.device() == Device::ref);
    const MemoryStats during = memory_stats(Device::ref);
    CHECK(during.allocations == before.allocations + 1);
    CHECK(during.in_use_bytes >= before.in_use_bytes + 8000);
  }
  CHECK(memory_stats(Device::ref).in_use_bytes == before.in_use_bytes);
  be.synchronize();
}

TEST_CASE("ref backend: Tensor::to round trips cpu -> ref -> cpu in every dtype and layout") {
  for (DType dt : kAllDTypes)
    for (Layout layout : kLayouts) {
      INFO(dtype_name(dt), " ", layout_name(layout));
      const Both x = input({3, 4}, dt, layout, 7, -50, 50);
      const Tensor r = x.cpu.to(Device::ref);
      CHECK(r.device() == Device::ref);
      CHECK(r.is_contiguous());
      const Tensor back = r.to(Device::cpu);
      CHECK(back.device() == Device::cpu);
      CHECK(back.to_vector<double>() == x.cpu.to_vector<double>());
      CHECK(x.ref.to_vector<double>() == x.cpu.to_vector<double>());  // the view rebuilt on ref reads alike
    }
  CHECK(zeros({}, DType::f32, Device::ref).to(Device::cpu).item<double>() == 0.0);
  CHECK(Tensor::empty({0, 3}, DType::i64, Device::ref).to(Device::cpu).shape() == Shape{0, 3});
  CHECK(fmt::format("{}", arange(0, 3, 1, DType::f32, Device::ref)) == "Tensor([3], f32, ref) [0, 1, 2]");
}

TEST_CASE("ref backend: copy (every dtype pair, any layout, broadcast) and fill") {
  for (DType from : kAllDTypes)
    for (DType to : kAllDTypes)
      for (Layout layout : kLayouts) {
        const Both x = input({3, 5}, from, layout, 11, -3, 3);
        const std::string what = fmt::format("{} -> {}, {}", from, to, layout_name(layout));
        // Float to integer truncates, to b8 is != 0, f64 to f32 rounds: the same casts on both sides.
        check_same(map(x, [&](const Tensor& t) { return t.to(to).clone(); }), kExact, what);
      }
  for (DType dt : kAllDTypes) {
    INFO(dtype_name(dt));
    // copy_ of a broadcast row into a transposed destination.
    const Both row = input({4}, dt, Layout::contiguous, 3, -9, 9);
    check_same(map(row,
                   [&](const Tensor& t) {
                     Tensor dst = zeros({4, 3}, dt, t.device());
                     dst.mT().copy_(t.view({1, 4}));
                     return dst;
                   }),
               kExact, "copy_ broadcast");
    // fill and fill_ of every other column; 0-d and empty tensors.
    for (Device d : {Device::cpu, Device::ref}) CHECK(full({2, 3}, 2.5, dt, d).device() == d);
    check_same(full({2, 3}, -2.5, dt), full({2, 3}, -2.5, dt, Device::ref), kExact, "full");
    auto fill_columns = [&](Device d) {
      Tensor z = zeros({4, 6}, dt, d);
      z.slice(1, 0, 6, 2).fill_(7.0);
      return z;
    };
    check_same(fill_columns(Device::cpu), fill_columns(Device::ref), kExact, "fill_ strided");
    check_same(scalar(0.7, dt), scalar(0.7, dt, Device::ref), kExact, "0-d");
    check_same(zeros({0, 3}, dt), zeros({0, 3}, dt, Device::ref), kExact, "empty");
  }
}

namespace {

struct UnaryCase {
  UnaryOp op;
  UnaryParams params;
  std::function<Tensor(const Tensor&)> f;
  double lo = -2, hi = 2;  // the inputs' domain
};

std::vector<UnaryCase> unary_cases() {
  return {
      {UnaryOp::neg, {}, [](const Tensor& x) { return neg(x); }},
      {UnaryOp::abs, {}, [](const Tensor& x) { return abs(x); }},
      {UnaryOp::sign, {}, [](const Tensor& x) { return sign(x); }},
      {UnaryOp::exp, {}, [](const Tensor& x) { return exp(x); }},
      {UnaryOp::log, {}, [](const Tensor& x) { return log(x); }, 0.05, 4},
      {UnaryOp::log1p, {}, [](const Tensor& x) { return log1p(x); }, -0.9, 4},
      {UnaryOp::sqrt, {}, [](const Tensor& x) { return sqrt(x); }, 0.05, 4},
      {UnaryOp::rsqrt, {}, [](const Tensor& x) { return rsqrt(x); }, 0.05, 4},
      {UnaryOp::square, {}, [](const Tensor& x) { return square(x); }},
      {UnaryOp::tanh, {}, [](const Tensor& x) { return tanh(x); }},
      {UnaryOp::sigmoid, {}, [](const Tensor& x) { return sigmoid(x); }},
      {UnaryOp::relu, {}, [](const Tensor& x) { return relu(x); }},
      {UnaryOp::gelu_tanh, {}, [](const Tensor& x) { return gelu(x, true); }},
      {UnaryOp::gelu_erf, {}, [](const Tensor& x) { return gelu(x); }},
      {UnaryOp::silu, {}, [](const Tensor& x) { return silu(x); }},
      {UnaryOp::softplus, {2.0, 3.0}, [](const Tensor& x) { return softplus(x, 2.0, 3.0); }},
      {UnaryOp::clamp, {-0.5, 1.25}, [](const Tensor& x) { return clamp(x, -0.5, 1.25); }},
      {UnaryOp::pow_scalar, {1.7}, [](const Tensor& x) { return pow(x, 1.7); }, 0.05, 4},
      {UnaryOp::pow_scalar, {2.0}, [](const Tensor& x) { return pow(x, 2.0); }},
      {UnaryOp::pow_scalar, {0.5}, [](const Tensor& x) { return pow(x, 0.5); }, 0.05, 4},
  };
}

}  // namespace

TEST_CASE("ref backend: unary ops and their gradients") {
  for (const UnaryCase& c : unary_cases())
    for (DType dt : kFloatDTypes)
      for (Layout layout : kLayouts) {
        const std::string what = fmt::format("{} {} {}", op_name(c.op), dt, layout_name(layout));
        const Both x = input({4, 7}, dt, layout, 21, c.lo, c.hi);
        check_same(map(x, c.f), tol_for(dt, kF32Elementwise), what);
        // The backward from the same x, y and dout on both sides.
        const Tensor y = c.f(x.cpu);
        const Both dout = input({4, 7}, dt, layout, 22);
        const Tensor dx_cpu = unary_grad(c.op, x.cpu, y, dout.cpu, c.params);
        const Tensor dx_ref = unary_grad(c.op, x.ref, y.to(Device::ref), dout.ref, c.params);
        check_same(dx_cpu, dx_ref, tol_for(dt, kF32Elementwise), what + " backward");
      }
  // NaN, infinities, signed zeros, tiny and large values.
  for (DType dt : kFloatDTypes) {
    const Both x = both(tensor({NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-30, 30, -30, 80, -80}, {}, dt));
    for (const UnaryCase& c : unary_cases())
      check_same(map(x, c.f), tol_for(dt, kF32Elementwise), fmt::format("{} {} special values", op_name(c.op), dt));
  }
  // The ops that take integers, exactly.
  const std::vector<std::function<Tensor(const Tensor&)>> int_ops = {
      [](const Tensor& x) { return neg(x); },  [](const Tensor& x) { return abs(x); },
      [](const Tensor& x) { return sign(x); }, [](const Tensor& x) { return square(x); },
      [](const Tensor& x) { return relu(x); }, [](const Tensor& x) { return clamp(x, -3, 4.5); }};
  for (DType dt : {DType::i32, DType::i64})
    for (Layout layout : kLayouts)
      for (size_t k = 0; k < int_ops.size(); ++k)
        check_same(map(input({5, 6}, dt, layout, 23, -9, 9), int_ops[k]), kExact,
                   fmt::format("integer op {} {} {}", k, dt, layout_name(layout)));
  check_same(map(both(scalar(-1.5, DType::f64)), [](const Tensor& x) { return exp(x); }), kF64, "0-d");
  check_same(map(both(zeros({0, 4}, DType::f32)), [](const Tensor& x) { return exp(x); }), kExact, "empty");
}

TEST_CASE("ref backend: binary ops, comparisons and where, broadcasting") {
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }},
  };
  for (const auto& [name, f] : ops)
    for (DType dt : kNumericDTypes) {
      if (!is_floating(dt) && (name == "div" || name == "pow")) continue;
      for (Layout layout : kLayouts) {
        const double lo = name == "pow" ? 0.1 : -9;  // pow: positive bases
        const Both a = input({3, 1, 5}, dt, layout, 31, lo, 9);
        const Both b = input({4, 5}, dt, layout, 32, -3, 3);
        const std::string what = fmt::format("{} {} {}", name, dt, layout_name(layout));
        // add, sub, mul, div of f32 round the same exact value once on both sides; pow may differ by an ulp.
        check_same(f(a.cpu, b.cpu), f(a.ref, b.ref), tol_for(dt, kF32Elementwise), what);
      }
    }
  // NaN propagates through maximum and minimum; a scalar operand is an expanded 0-d tensor.
  for (DType dt : kFloatDTypes) {
    const Both a = both(tensor({NAN, 1, -INFINITY, 2, NAN, -0.0}, {}, dt));
    const Both b = both(tensor({1, NAN, 3, -INFINITY, NAN, 0.0}, {}, dt));
    for (const auto& [name, f] : ops) check_same(f(a.cpu, b.cpu), f(a.ref, b.ref), kExact, name + " NaN");
    check_same(map(a, [](const Tensor& t) { return add(t, 2.5); }), kExact, "scalar operand");
  }
  // Comparisons on every dtype (b8 included), NaN compares unequal.
  const std::vector<std::function<Tensor(const Tensor&, const Tensor&)>> cmps = {
      [](const Tensor& a, const Tensor& b) { return eq(a, b); },
      [](const Tensor& a, const Tensor& b) { return ne(a, b); },
      [](const Tensor& a, const Tensor& b) { return lt(a, b); },
      [](const Tensor& a, const Tensor& b) { return le(a, b); },
      [](const Tensor& a, const Tensor& b) { return gt(a, b); },
      [](const Tensor& a, const Tensor& b) { return ge(a, b); }};
  for (DType dt : kAllDTypes)
    for (Layout layout : kLayouts)
      for (size_t k = 0; k < cmps.size(); ++k) {
        const Both a = input({3, 1, 5}, dt, layout, 33, -2, 3);  // integers in [-2, 3): many ties
        const Both b = input({4, 5}, dt, layout, 34, -2, 3);
        check_same(cmps[k](a.cpu, b.cpu), cmps[k](a.ref, b.ref), kExact,
                   fmt::format("compare {} {} {}", k, dt, layout_name(layout)));
      }
  {
    const Both a = both(tensor({NAN, 1, NAN}, {}, DType::f64)), b = both(tensor({NAN, NAN, 1}, {}, DType::f64));
    for (const auto& c : cmps) check_same(c(a.cpu, b.cpu), c(a.ref, b.ref), kExact, "compare NaN");
  }
  // where: an expanded condition, every dtype.
  for (DType dt : kAllDTypes)
    for (Layout layout : kLayouts) {
      const Both cond = input({1, 5}, DType::b8, Layout::contiguous, 35);
      const Both a = input({4, 5}, dt, layout, 36, -9, 9), b = input({4, 1}, dt, Layout::contiguous, 37, -9, 9);
      check_same(where(cond.cpu, a.cpu, b.cpu), where(cond.ref, a.ref, b.ref), kExact,
                 fmt::format("where {} {}", dt, layout_name(layout)));
    }
}

TEST_CASE("ref backend: sum, max, min over axes; argmax, argmin; cumsum") {
  // f32 sums: both accumulate in double, but the CPU rounds to f32 between two
  // runs of reduced axes ({0, 2}), so results differ by a few ulp of partial
  // sums of up to five values in [-9, 9) (ulp(45) = 4e-6): 1e-6 relative,
  // 1e-5 absolute.
  const Tol f32_sum{1e-6, 1e-5};
  const std::vector<std::vector<int64_t>> axes_list = {{}, {0}, {1}, {2}, {0, 2}, {-1, 0}, {0, 1, 2}};
  for (DType dt : kNumericDTypes)
    for (Layout layout : kLayouts)
      for (const auto& axes : axes_list)
        for (bool keepdim : {false, true}) {
          const std::string what =
              fmt::format("{} {} axes {} keepdim {}", dt, layout_name(layout), axes.size(), keepdim);
          const Both x = input({3, 4, 5}, dt, layout, 41, -9, 9);
          check_same(map(x, [&](const Tensor& t) { return sum(t, axes, keepdim); }), tol_for(dt, f32_sum),
                     "sum " + what);
          check_same(map(x, [&](const Tensor& t) { return max(t, axes, keepdim); }), kExact, "max " + what);
          check_same(map(x, [&](const Tensor& t) { return min(t, axes, keepdim); }), kExact, "min " + what);
          if (is_floating(dt) && !axes.empty()) {
            check_same(map(x, [&](const Tensor& t) { return mean(t, axes, keepdim); }), tol_for(dt, f32_sum),
                       "mean " + what);
            check_same(map(x, [&](const Tensor& t) { return logsumexp(t, axes, keepdim); }),
                       tol_for(dt, kF32Elementwise), "logsumexp " + what);
          }
        }
  // b8 sums count (i64); NaN wins max and min; 0-d and empty tensors.
  check_same(map(input({4, 6}, DType::b8, Layout::transposed, 42), [](const Tensor& t) { return sum(t, {1}); }), kExact,
             "sum b8");
  for (DType dt : kFloatDTypes) {
    const Both x = both(tensor({1, NAN, 3, -INFINITY, 2, 5, INFINITY, -1}, {2, 4}, dt));
    for (int64_t axis : {0, 1}) {
      check_same(map(x, [&](const Tensor& t) { return max(t, {axis}); }), kExact, "max NaN");
      check_same(map(x, [&](const Tensor& t) { return min(t, {axis}); }), kExact, "min NaN");
      check_same(map(x, [&](const Tensor& t) { return argmax(t, axis); }), kExact, "argmax NaN");
      check_same(map(x, [&](const Tensor& t) { return argmin(t, axis); }), kExact, "argmin NaN");
    }
  }
  check_same(map(both(scalar(4.5, DType::f64)), [](const Tensor& t) { return sum(t); }), kExact, "sum 0-d");
  check_same(map(both(scalar(4.5, DType::f64)), [](const Tensor& t) { return max(t); }), kExact, "max 0-d");
  check_same(map(both(zeros({0, 3}, DType::f32)), [](const Tensor& t) { return sum(t, {0}); }), kExact, "sum empty");
  check_same(map(both(zeros({0, 3}, DType::f32)), [](const Tensor& t) { return max(t, {1}); }), kExact, "max empty");

  // argmax, argmin: integers in a small range (many ties: the first index wins), along each axis and flattened.
  for (DType dt : kNumericDTypes)
    for (Layout layout : kLayouts) {
      const Both x = input({3, 4, 5}, dt, layout, 43, -3, 3);
      const std::string what = fmt::format("{} {}", dt, layout_name(layout));
      for (int64_t axis : {0, 1, 2, -1}) {
        check_same(map(x, [&](const Tensor& t) { return argmax(t, axis); }), kExact, "argmax " + what);
        check_same(map(x, [&](const Tensor& t) { return argmin(t, axis, true); }), kExact, "argmin " + what);
      }
      check_same(map(x, [&](const Tensor& t) { return argmax(t); }), kExact, "argmax flat " + what);
    }
  check_same(map(both(scalar(2, DType::i32)), [](const Tensor& t) { return argmin(t, 0); }), kExact, "argmin 0-d");

  // cumsum: f32 keeps a double running sum on both sides, rounded at each output.
  for (DType dt : kAllDTypes)
    for (Layout layout : kLayouts)
      for (int64_t axis : {0, 1, 2}) {
        const Both x = input({3, 4, 5}, dt, layout, 44, -9, 9);
        check_same(map(x, [&](const Tensor& t) { return cumsum(t, axis); }), tol_for(dt, kF32Elementwise),
                   fmt::format("cumsum {} {} axis {}", dt, layout_name(layout), axis));
      }
}

TEST_CASE("ref backend: matmul and linear") {
  struct Case {
    Shape a, b;
    bool a_t, b_t;  // operand given as the transposed view of a contiguous tensor
  };
  const std::vector<Case> cases = {{{5, 7}, {7, 3}, false, false},
                                   {{5, 7}, {7, 3}, true, false},
                                   {{5, 7}, {7, 3}, false, true},
                                   {{5, 7}, {7, 3}, true, true},
                                   {{2, 1, 5, 7}, {3, 7, 4}, false, true},
                                   {{7}, {7, 3}, false, false},
                                   {{5, 7}, {7}, false, false},
                                   {{7}, {7}, false, false},
                                   {{3, 0}, {0, 4}, false, false},
                                   {{4, 17}, {17, 9}, false, false}};
  for (DType dt : kFloatDTypes)
    for (const Case& c : cases) {
      const std::string what = fmt::format("{} {} @ {} (transposed {} {})", dt, c.a, c.b, c.a_t, c.b_t);
      auto operand = [&](const Shape& s, bool t, uint64_t seed) {
        if (!t || s.size() < 2) return input(s, dt, Layout::contiguous, seed, -1, 1);
        Shape swapped = s;
        std::swap(swapped[s.size() - 1], swapped[s.size() - 2]);
        return view(input(swapped, dt, Layout::contiguous, seed, -1, 1), [](const Tensor& x) { return x.mT(); });
      };
      const Both a = operand(c.a, c.a_t, 51), b = operand(c.b, c.b_t, 52);
      // f32: the CPU's GEMM sums in f32; with |a|, |b| <= 1 the forward error
      // bound of a length-K dot product is 2 K u (|A||B|)_ij <= 2 K^2 u.
      const double K = double(c.a.back());
      const Tol f32{0, 2 * K * K * 0x1p-24 + 1e-7};
      check_same(matmul(a.cpu, b.cpu), matmul(a.ref, b.ref), tol_for(dt, f32), what);
    }
  for (DType dt : kFloatDTypes)
    for (Layout layout : kLayouts)
      for (bool with_bias : {false, true}) {
        const std::string what = fmt::format("linear {} {} bias {}", dt, layout_name(layout), with_bias);
        const Both x = input({2, 3, 7}, dt, layout, 53, -1, 1);
        const Both w = view(input({7, 4}, dt, Layout::contiguous, 54, -1, 1), [](const Tensor& t) { return t.mT(); });
        const Both bias = with_bias ? input({4}, dt, Layout::contiguous, 55, -1, 1) : Both{};
        const Tol f32{0, 2 * 7 * 8 * 0x1p-24 + 1e-7};  // as above, K = 7, plus the bias
        check_same(linear(x.cpu, w.cpu, bias.cpu), linear(x.ref, w.ref, bias.ref), tol_for(dt, f32), what);
      }
}

TEST_CASE("ref backend: softmax and log_softmax along every axis") {
  // f32: the CPU subtracts the max and exponentiates in f32 (vm::exp, 1.5
  // ulp) and scales by a rounded 1/sum; log_softmax subtracts a rounded shift.
  // A few ulp of values up to ~10: 1e-6 relative, 2e-6 absolute.
  for (DType dt : kFloatDTypes)
    for (Layout layout : kLayouts)
      for (int64_t axis : {0, 1, 2, -1}) {
        const Both x = input({3, 4, 5}, dt, layout, 61, -5, 5);
        const std::string what = fmt::format("{} {} axis {}", dt, layout_name(layout), axis);
        check_same(map(x, [&](const Tensor& t) { return softmax(t, axis); }), tol_for(dt, kF32Elementwise),
                   "softmax " + what);
        check_same(map(x, [&](const Tensor& t) { return log_softmax(t, axis); }), tol_for(dt, kF32Elementwise),
                   "log_softmax " + what);
      }
  // Rows of all -inf (NaN), with a +inf (NaN there, 0 elsewhere), with a NaN,
  // and large values. f32: the CPU's log_softmax rounds its shift m + log(sum)
  // to f32, up to half an ulp of |m| (3e-5 at m = 1000).
  const Tol f32_special{1e-6, 1.2e-4};
  for (DType dt : kFloatDTypes) {
    const double inf = INFINITY;
    const Both x = both(tensor({-inf, -inf, -inf, 1, inf, 2, 1, NAN, 0, 1000, 999, -1000}, {4, 3}, dt));
    for (int64_t axis : {0, 1}) {
      check_same(map(x, [&](const Tensor& t) { return softmax(t, axis); }), tol_for(dt, kF32Elementwise),
                 "softmax special");
      check_same(map(x, [&](const Tensor& t) { return log_softmax(t, axis); }), tol_for(dt, f32_special),
                 "log_softmax special");
    }
  }
}

TEST_CASE("ref backend: a kernel given a dtype it does not take throws naming the op and the dtype") {
  const Backend& be = ref::kBackend;
  auto t = [](const Shape& s, DType dt) { return zeros(s, dt, Device::ref); };
  const Tensor i32 = t({2, 3}, DType::i32), b8 = t({2, 3}, DType::b8), i64 = t({2, 3}, DType::i64);
  auto expect = [](const std::string& err, const char* op, const char* dtype) {
    INFO(err);
    CHECK(err.find(op) != std::string::npos);
    CHECK(err.find(dtype) != std::string::npos);
  };
  expect(error_of([&] { be.unary(UnaryOp::exp, {}, i32, i32); }), "exp", "i32");
  expect(error_of([&] { be.unary(UnaryOp::neg, {}, b8, b8); }), "neg", "b8");
  expect(error_of([&] { be.unary_backward(UnaryOp::tanh, {}, i32, i32, i32, i32); }), "tanh", "i32");
  expect(error_of([&] { be.binary(BinaryOp::div, i64, i64, i64); }), "div", "i64");
  expect(error_of([&] { be.binary(BinaryOp::add, b8, b8, b8); }), "add", "b8");
  const std::vector<int> axes = {0};
  expect(error_of([&] { be.reduce(ReduceOp::sum, b8, axes, t({1, 3}, DType::b8)); }), "reduce", "b8");
  expect(error_of([&] { be.arg_reduce(ArgReduceOp::argmax, b8, 0, t({1, 3}, DType::i64)); }), "argmax", "b8");
  expect(error_of([&] { be.cumsum(b8, 0, b8); }), "cumsum", "b8");
  expect(error_of([&] { be.matmul(i32, t({3, 2}, DType::i32), t({2, 2}, DType::i32)); }), "matmul", "i32");
  expect(error_of([&] { be.linear(i32, i32, Tensor(), t({2, 2}, DType::i32)); }), "linear", "i32");
  expect(error_of([&] { be.softmax(i64, 1, false, i64); }), "softmax", "i64");
  expect(error_of([&] { be.scatter_add(b8, 1, t({2, 3}, DType::i64), b8); }), "scatter_add", "b8");
  expect(error_of([&] { be.index_add(b8, 1, t({3}, DType::i64), b8); }), "index_add", "b8");
  expect(error_of([&] { be.gather(i32, 1, t({2, 3}, DType::f32), i32); }), "gather", "f32");
  expect(error_of([&] { be.sort(b8, 1, false, b8, i64); }), "sort", "b8");
  expect(error_of([&] { be.topk(b8, 1, 1, true, t({2, 1}, DType::b8), t({2, 1}, DType::i64)); }), "topk", "b8");
  expect(error_of([&] { be.layer_norm(i32, Tensor(), Tensor(), 1e-5, i32, t({2}, DType::i32), t({2}, DType::i32)); }),
         "layer_norm", "i32");
  const Tensor q = t({1, 1, 2, 3}, DType::i32), l = t({1, 1, 2}, DType::i32);
  expect(error_of([&] { be.attention(q, q, q, false, Tensor(), q, l); }), "attention", "i32");
  expect(error_of([&] { be.dropout(i32, 0.5, 1, 0, i32); }), "dropout", "i32");
  expect(error_of([&] { be.random(RandomKind::uniform, 1, 0, 0, 1, b8); }), "random", "b8");
  expect(error_of([&] { be.cross_entropy(i32, t({2}, DType::i64), t({2}, DType::i32), t({2}, DType::i32)); }),
         "cross_entropy", "i32");
  // Through the public ops, the same messages as the CPU's.
  const Tensor bc = zeros({2, 3}, DType::b8);
  CHECK(error_of([&] { max(bc); }) == error_of([&] { max(bc.to(Device::ref)); }));
  CHECK(error_of([&] { cumsum(bc.to(DType::f32), 5); }) ==
        error_of([&] { cumsum(bc.to(DType::f32).to(Device::ref), 5); }));
}

TEST_CASE("a ref tensor is device memory to the caller: data<T>() refuses it, crossings are counted") {
  const Tensor x = from_vector<float>({1, 2, 3}, {3}).to(Device::ref);
  CHECK(error_of([&] { x.data<float>(); }).find("data<f32>: tensor is on ref, not the CPU") != std::string::npos);
  const TransferCounts before = transfer_counts();
  CHECK(sum(x).item<double>() == 6);                              // one crossing to the host
  const Tensor y = from_vector<float>({4}, {1}).to(Device::ref);  // one from it
  CHECK(y.to(Device::ref).device() == Device::ref);               // no crossing: already there
  const TransferCounts after = transfer_counts();
  CHECK(after.to_host - before.to_host == 1);
  CHECK(after.from_host - before.from_host == 1);
}
