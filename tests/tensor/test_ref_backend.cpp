// The reference backend (tensor/ref/) against the CPU backend: every kernel of
// the kernel list, reached through its public op, on the same inputs on
// Device::cpu and on Device::ref (the reference's copy made with
// .to(Device::ref), views rebuilt alike on each side), in f64 and f32, with
// transposed, strided and expanded (stride-0) operands, the integer and b8
// dtypes each op takes, 0-d and empty tensors and NaN and infinities. f64
// results agree to 1e-12, integer and b8 ones exactly, f32 ones within the
// tolerance each case states, random fills and dropout masks bit for bit.
// Also the backend itself: its table, its memory, Tensor::to round trips,
// available_devices() and its errors for dtypes a kernel does not take.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "tensor/allocator.h"
#include "tensor/cpu/kernels.h"
#include "tensor/fused_layers.h"
#include "tensor/fused_losses.h"
#include "tensor/ops.h"
#include "tensor/optim_kernels.h"
#include "tensor/random.h"
#include "tensor/ref/kernels.h"
#include "tests/error_of.h"

using namespace gradlab;
using gradlab::test::error_of;

namespace {

// ---- one input on both backends ----

// The same values on the CPU and on the reference backend, laid out alike.
struct Both {
  Tensor cpu, ref;
};

Both both(const Tensor& t) { return {t, t.to(Device::ref)}; }

// f applied on each side: a view, or the op under test.
template <class F>
auto map(const Both& x, F f) {
  return std::pair{f(x.cpu), f(x.ref)};
}
template <class F>
Both view(const Both& x, F f) {
  return {f(x.cpu), f(x.ref)};
}

enum class Layout { contiguous, transposed, strided, expanded };
constexpr Layout kLayouts[] = {Layout::contiguous, Layout::transposed, Layout::strided, Layout::expanded};
const char* layout_name(Layout l) {
  switch (l) {
    case Layout::contiguous: return "contiguous";
    case Layout::transposed: return "transposed";
    case Layout::strided: return "strided";
    case Layout::expanded: return "expanded";
  }
  return "?";
}

constexpr DType kAllDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64, DType::b8};
constexpr DType kFloatDTypes[] = {DType::f32, DType::f64};
constexpr DType kNumericDTypes[] = {DType::f32, DType::f64, DType::i32, DType::i64};

// Values of shape s: uniform in [lo, hi) for floats, integers in [lo, hi), b8 about half true.
Tensor values(const Shape& s, DType dt, Generator& gen, double lo, double hi) {
  if (is_floating(dt)) return uniform(s, lo, hi, gen, dt);
  if (dt == DType::b8) return lt(uniform(s, 0, 1, gen, DType::f64), 0.5);
  return randint(int64_t(lo), int64_t(hi), s, gen, dt);
}

// An input of `shape` on both backends: transposed is the reversed-axes view
// of a contiguous tensor, strided every second element of the last axis,
// expanded the first axis broadcast from size 1 (stride 0).
Both input(const Shape& shape, DType dt, Layout layout, uint64_t seed, double lo = -2, double hi = 2) {
  Generator gen(seed);
  const int nd = shape.size();
  if (nd == 0 || layout == Layout::contiguous) return both(values(shape, dt, gen, lo, hi));
  if (layout == Layout::transposed) {
    Shape rev, perm;
    for (int d = nd - 1; d >= 0; --d) rev.push_back(shape[d]), perm.push_back(d);
    return view(both(values(rev, dt, gen, lo, hi)), [&](const Tensor& t) { return t.permute(perm); });
  }
  if (layout == Layout::strided) {
    Shape wide = shape;
    wide[nd - 1] *= 2;
    return view(both(values(wide, dt, gen, lo, hi)), [&](const Tensor& t) { return t.slice(-1, 0, wide[nd - 1], 2); });
  }
  Shape one = shape;
  one[0] = 1;
  return view(both(values(one, dt, gen, lo, hi)), [&](const Tensor& t) { return t.expand(shape); });
}

// ---- comparing the two results ----

struct Tol {
  double rtol = 0, atol = 0;
};
constexpr Tol kExact{0, 0};
// f64: both backends evaluate the same double formulas (the CPU's f64 kernels
// call <cmath> as the reference does); they differ only in the order of sums.
constexpr Tol kF64{1e-12, 1e-12};
// f32 elementwise: the CPU's f32 exp, log, tanh, erfc are vectorised
// approximations within 1.5 to 3 ulp (tensor/vec_math.h), and composite
// formulas (gelu, silu, softplus, the gradients) round every intermediate to
// f32, each rounding up to 0.5 ulp of that intermediate, which can be larger
// than the result (1 - y^2 near |y| = 1). The reference rounds once, so the
// two differ by up to about 8 ulp of the result (1e-6 relative) plus a few ulp
// of intermediates of size up to ~10 (2e-6 absolute).
constexpr Tol kF32Elementwise{1e-6, 2e-6};

// The tolerance for dtype dt: exact for integers and b8, kF64 for f64, `f32` for f32.
Tol tol_for(DType dt, Tol f32) { return dt == DType::f32 ? f32 : dt == DType::f64 ? kF64 : kExact; }

// cpu and ref results of one op agree: same shape and dtype, the reference's on
// Device::ref, every value within atol + rtol |cpu value| (NaN matching NaN,
// infinities equal); the first few mismatches are printed.
void check_same(const Tensor& cpu, const Tensor& ref, Tol tol, const std::string& what) {
  INFO(what);
  REQUIRE(cpu.defined());
  REQUIRE(ref.defined());
  CHECK(cpu.device() == Device::cpu);
  CHECK(ref.device() == Device::ref);
  REQUIRE(cpu.shape() == ref.shape());
  REQUIRE(cpu.dtype() == ref.dtype());
  const std::vector<double> a = cpu.to_vector<double>(), b = ref.to_vector<double>();
  int bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool ok = (std::isnan(a[i]) && std::isnan(b[i])) || a[i] == b[i] ||
                    std::fabs(a[i] - b[i]) <= tol.atol + tol.rtol * std::fabs(a[i]);
    if (!ok && ++bad <= 5) FAIL_CHECK(fmt::format("element {}: cpu {:.17g}, ref {:.17g}", i, a[i], b[i]));
  }
  CHECK(bad == 0);
}
void check_same(const std::pair<Tensor, Tensor>& r, Tol tol, const std::string& what) {
  check_same(r.first, r.second, tol, what);
}

}  // namespace

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
