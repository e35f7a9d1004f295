// Elementwise ops against naive double-precision reference loops: every unary
// and binary op on contiguous, transposed and strided inputs, broadcasting
// shapes with size-0 and size-1 axes, f32 and f64; comparisons (on inputs with
// ties and NaN, every dtype) and where; and the errors for bad input.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include "tests/tensor/reference.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using ref::Index;
using ref::Layout;

namespace {

const Layout kLayouts[] = {Layout::contiguous, Layout::transposed, Layout::strided};
const DType kFloatTypes[] = {DType::f32, DType::f64};

double tol(DType dt) { return dt == DType::f32 ? 3e-6 : 1e-13; }

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> want;
  double lo, hi;
};

double gelu_erf_ref(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double gelu_tanh_ref(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }
double softplus_ref(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -3, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, -3, 3},
      {"sign", [](const Tensor& x) { return sign(x); }, [](double x) { return double((0 < x) - (x < 0)); }, -3, 3},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -20, 20},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 1e-3, 50},
      {"log1p", [](const Tensor& x) { return log1p(x); }, [](double x) { return std::log1p(x); }, -0.9, 5},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0, 9},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.1, 9},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -3, 3},
      {"tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); }, -6, 6},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -10, 10},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -3, 3},
      {"gelu", [](const Tensor& x) { return gelu(x); }, gelu_erf_ref, -6, 6},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, true); }, gelu_tanh_ref, -6, 6},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x / (1 + std::exp(-x)); }, -8, 8},
      {"softsign", [](const Tensor& x) { return softsign(x); }, [](double x) { return x / (1 + std::fabs(x)); }, -8, 8},
      {"softplus", [](const Tensor& x) { return softplus(x); }, softplus_ref, -30, 30},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 1.0); }, [](double x) { return std::clamp(x, -0.5, 1.0); },
       -3, 3},
      {"pow3", [](const Tensor& x) { return pow(x, 3.0); }, [](double x) { return x * x * x; }, -3, 3},
      {"pow0.5", [](const Tensor& x) { return pow(x, 0.5); }, [](double x) { return std::sqrt(x); }, 0, 4},
  };
}

}  // namespace

TEST_CASE("unary ops match the reference on every layout and float dtype") {
  const Shape shapes[] = {{}, {1}, {7}, {3, 5}, {2, 3, 17}, {0, 4}};
  uint64_t seed = 1;
  for (const UnaryCase& c : unary_cases())
    for (DType dt : kFloatTypes)
      for (Layout layout : kLayouts)
        for (const Shape& shape : shapes) {
          const Tensor x = ref::make_input(shape, dt, layout, seed++, c.lo, c.hi);
          const Tensor y = c.op(x);
          CHECK(y.dtype() == dt);
          CHECK(y.is_contiguous());
          ref::check_close(
              y, shape, [&](const Index& i) { return c.want(ref::read(x, i)); }, tol(dt), tol(dt) * 1e-2,
              fmt::format("{} {} {} {}", c.name, dtype_name(dt), ref::layout_name(layout), shape));
        }
}

TEST_CASE("unary ops on integers where they are defined") {
  const Tensor x = tensor({-3, -1, 0, 2, 5}).to(DType::i64);
  CHECK(neg(x).to_vector<int64_t>() == std::vector<int64_t>{3, 1, 0, -2, -5});
  CHECK(abs(x).to_vector<int64_t>() == std::vector<int64_t>{3, 1, 0, 2, 5});
  CHECK(sign(x).to_vector<int64_t>() == std::vector<int64_t>{-1, -1, 0, 1, 1});
  CHECK(relu(x).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 2, 5});
  CHECK(clamp(x, -1, 3).to_vector<int64_t>() == std::vector<int64_t>{-1, -1, 0, 2, 3});
  CHECK_THROWS_WITH_AS(exp(x), "exp: expected a floating dtype (f32 or f64), got i64", Error);
}

TEST_CASE("transcendentals get the special values right") {
  const double inf = INFINITY, nan = NAN;
  for (DType dt : kFloatTypes) {
    const Tensor x = tensor({-inf, -100, 0, 100, inf, nan}, {}, dt);
    const auto e = exp(x).to_vector<double>();
    CHECK(e[0] == 0);
    CHECK(e[2] == 1);
    CHECK(std::isinf(e[4]));
    CHECK(std::isnan(e[5]));
    const auto t = tanh(x).to_vector<double>();
    CHECK(t[0] == -1);
    CHECK(t[1] == -1);
    CHECK(t[2] == 0);
    CHECK(t[4] == 1);
    CHECK(std::isnan(t[5]));
    const auto s = sigmoid(x).to_vector<double>();
    CHECK(s[0] == 0);
    CHECK(s[2] == 0.5);
    CHECK(s[4] == 1);
    const auto l = log(tensor({0, 1, inf, -1}, {}, dt)).to_vector<double>();
    CHECK(l[0] == -inf);
    CHECK(l[1] == 0);
    CHECK(l[2] == inf);
    CHECK(std::isnan(l[3]));
    const auto sp = softplus(tensor({-1000, 1000}, {}, dt)).to_vector<double>();
    CHECK(sp[0] == 0);
    CHECK(sp[1] == 1000);
  }
}

namespace {

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> want;
  double lo, hi;
};

std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }, -3, 3},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }, -3, 3},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }, -3, 3},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }, 0.5, 3},
      {"pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); },
       [](double a, double b) { return std::pow(a, b); }, 0.5, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }, -3, 3},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }, -3, 3},
  };
}

// Shape pairs that broadcast, including size-0 and size-1 axes and 0-d.
const std::pair<Shape, Shape> kBroadcastPairs[] = {
    {{2, 3, 4}, {2, 3, 4}}, {{3, 1, 5}, {4, 5}}, {{}, {2, 3}}, {{2, 3}, {}}, {{5, 1}, {1, 6}}, {{1}, {7}},
    {{0, 3}, {1, 3}},       {{4, 1, 2}, {3, 1}}, {{33}, {33}},
};

}  // namespace

TEST_CASE("binary ops broadcast and match the reference on every layout") {
  uint64_t seed = 100;
  for (const BinaryCase& c : binary_cases())
    for (DType dt : kFloatTypes)
      for (const auto& [sa, sb] : kBroadcastPairs)
        for (Layout la : kLayouts)
          for (Layout lb : {Layout::contiguous, Layout::strided}) {
            const Tensor a = ref::make_input(sa, dt, la, seed++, c.lo, c.hi);
            const Tensor b = ref::make_input(sb, dt, lb, seed++, c.lo, c.hi);
            const Shape out = broadcast_shapes(sa, sb, "test");
            ref::check_close(
                c.op(a, b), out,
                [&](const Index& i) {
                  return c.want(ref::read(a, ref::broadcast_index(i, sa)), ref::read(b, ref::broadcast_index(i, sb)));
                },
                tol(dt), tol(dt) * 1e-2,
                fmt::format("{} {} {}x{} {}/{}", c.name, dtype_name(dt), sa, sb, ref::layout_name(la),
                            ref::layout_name(lb)));
          }
}

TEST_CASE("binary ops on integers and with scalars") {
  const Tensor a = tensor({1, 2, 3}).to(DType::i32);
  const Tensor b = tensor({10, 20, 30}).to(DType::i32);
  CHECK((a + b).to_vector<int32_t>() == std::vector<int32_t>{11, 22, 33});
  CHECK((b - a).to_vector<int32_t>() == std::vector<int32_t>{9, 18, 27});
  CHECK((a * b).to_vector<int32_t>() == std::vector<int32_t>{10, 40, 90});
  CHECK((a * 2.0).to_vector<int32_t>() == std::vector<int32_t>{2, 4, 6});
  const Tensor x = tensor({1, 2, 4});
  CHECK((1.0 / x).to_vector<float>() == std::vector<float>{1, 0.5f, 0.25f});
  CHECK((x - 1.0).to_vector<float>() == std::vector<float>{0, 1, 3});
  CHECK((2.0 - x).to_vector<float>() == std::vector<float>{1, 0, -2});
  CHECK((-x).to_vector<float>() == std::vector<float>{-1, -2, -4});
  CHECK_THROWS_WITH_AS(a / b, "div: not defined for dtype i32", Error);
}

TEST_CASE("maximum and minimum propagate NaN") {
  const Tensor a = tensor({NAN, 1, 2});
  const Tensor b = tensor({0, NAN, 1});
  const auto mx = maximum(a, b).to_vector<float>();
  CHECK(std::isnan(mx[0]));
  CHECK(std::isnan(mx[1]));
  CHECK(mx[2] == 2);
  const auto mn = minimum(a, b).to_vector<float>();
  CHECK(std::isnan(mn[0]));
  CHECK(std::isnan(mn[1]));
  CHECK(mn[2] == 1);
}

namespace {

// A tensor of `shape` whose values come from a small set, so that two such
// tensors agree in many places and differ in many others, laid out as
// ref::make_input lays them out. Floating inputs include NaN (about one value
// in five); integer inputs draw from {-1, 0, 1, 2}.
Tensor tied_input(const Shape& shape, DType dtype, Layout layout, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<double> pool =
      is_floating(dtype) ? std::vector<double>{-1.0, 0.0, 0.5, 1.0, NAN} : std::vector<double>{-1, 0, 1, 2};
  Shape stored = shape;  // the shape of the underlying contiguous buffer
  Shape perm;
  if (layout == Layout::transposed && shape.size() > 0) {
    stored = {};
    for (int d = shape.size() - 1; d >= 0; --d) {
      stored.push_back(shape[d]);
      perm.push_back(d);
    }
  } else if (layout == Layout::strided && shape.size() > 0) {
    stored[stored.size() - 1] *= 2;
  }
  std::vector<double> values(size_t(stored.numel()));
  for (double& v : values) v = pool[size_t(rng() % pool.size())];
  const Tensor t = from_vector(values, {int64_t(values.size())}).reshape(stored).to(dtype);
  if (layout == Layout::transposed && shape.size() > 0) return t.permute(perm);
  if (layout == Layout::strided && shape.size() > 0) return t.slice(-1, 0, stored[stored.size() - 1], 2);
  return t;
}

}  // namespace

TEST_CASE("comparisons give b8 masks that match the reference on ties, NaN and broadcasts; where selects with them") {
  uint64_t seed = 500;
  int64_t equal = 0, unequal = 0, nan_pairs = 0;  // what the inputs covered, over the whole test
  for (DType dt : {DType::f32, DType::f64, DType::i32, DType::i64})
    for (const auto& [sa, sb] : kBroadcastPairs)
      for (Layout la : kLayouts) {
        const Tensor a = tied_input(sa, dt, la, seed++);
        const Tensor b = tied_input(sb, dt, Layout::strided, seed++);
        const Shape out = broadcast_shapes(sa, sb, "test");
        auto A = [&](const Index& i) { return ref::read(a, ref::broadcast_index(i, sa)); };
        auto B = [&](const Index& i) { return ref::read(b, ref::broadcast_index(i, sb)); };
        for (const Index& i : ref::all_indices(out)) {
          equal += A(i) == B(i);
          unequal += A(i) != B(i);
          nan_pairs += std::isnan(A(i)) || std::isnan(B(i));
        }
        const std::string what = fmt::format("{} {}x{} {}", dtype_name(dt), sa, sb, ref::layout_name(la));
        // The reference compares in double, where NaN is unordered: every
        // comparison with NaN is false except ne, which is true.
        const Tensor m = lt(a, b);
        CHECK(m.dtype() == DType::b8);
        ref::check_close(
            m, out, [&](const Index& i) { return double(A(i) < B(i)); }, 0, 0, "lt " + what);
        ref::check_close(
            le(a, b), out, [&](const Index& i) { return double(A(i) <= B(i)); }, 0, 0, "le " + what);
        ref::check_close(
            gt(a, b), out, [&](const Index& i) { return double(A(i) > B(i)); }, 0, 0, "gt " + what);
        ref::check_close(
            ge(a, b), out, [&](const Index& i) { return double(A(i) >= B(i)); }, 0, 0, "ge " + what);
        ref::check_close(
            eq(a, b), out, [&](const Index& i) { return double(A(i) == B(i)); }, 0, 0, "eq " + what);
        ref::check_close(
            ne(a, b), out, [&](const Index& i) { return double(A(i) != B(i)); }, 0, 0, "ne " + what);
        // x == x fails exactly where x is NaN.
        ref::check_close(
            eq(a, a), sa, [&](const Index& i) { return double(!std::isnan(ref::read(a, i))); }, 0, 0,
            "eq(a, a) " + what);
        ref::check_close(
            where(m, a, b), out, [&](const Index& i) { return A(i) < B(i) ? A(i) : B(i); }, 0, 0, "where " + what);
      }
  // The inputs had ties, differences and NaNs in quantity (450 equal pairs
  // and 405 with a NaN as written).
  CHECK(equal > 200);
  CHECK(unequal > 200);
  CHECK(nan_pairs > 200);
}

TEST_CASE("comparisons with a scalar, with NaN, and above the parallel grain") {
  CHECK(gt(tensor({1, 2, 3}), 1.5).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});
  const Tensor x = tensor({1, NAN, 2, 1}, {}, DType::f64);
  CHECK(eq(x, 1.0).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(ne(x, 1.0).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1, 0});
  CHECK(le(x, 1.0).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(ge(x, 2.0).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1, 0});
  CHECK(eq(x, double(NAN)).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 0});
  CHECK(ne(x, double(NAN)).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(eq(tensor({3, 4}).to(DType::i64), 4.0).to_vector<int64_t>() == std::vector<int64_t>{0, 1});
  // 100k elements split across two threads; a transposed operand walks the strided path.
  const test::ThreadCountGuard pin(2);
  for (DType dt : kFloatTypes) {
    const Tensor a = tied_input({200, 500}, dt, Layout::transposed, 7);
    const Tensor b = tied_input({200, 500}, dt, Layout::contiguous, 8);
    auto A = [&](const Index& i) { return ref::read(a, i); };
    auto B = [&](const Index& i) { return ref::read(b, i); };
    ref::check_close(
        eq(a, b), {200, 500}, [&](const Index& i) { return double(A(i) == B(i)); }, 0, 0, "eq large");
    ref::check_close(
        ne(a, b), {200, 500}, [&](const Index& i) { return double(A(i) != B(i)); }, 0, 0, "ne large");
    ref::check_close(
        le(a, b), {200, 500}, [&](const Index& i) { return double(A(i) <= B(i)); }, 0, 0, "le large");
  }
}

TEST_CASE("elementwise ops name themselves and the shapes in their errors") {
  const Tensor a = zeros({2, 3}), b = zeros({4});
  CHECK_THROWS_WITH_AS(a + b, "add: shapes [2, 3] and [4] do not broadcast", Error);
  CHECK_THROWS_WITH_AS(a * zeros({2, 3}, DType::f64), "mul: dtypes differ (f32 and f64); convert one with .to()",
                       Error);
  CHECK_THROWS_WITH_AS(where(a, a, a), "where: condition must be a b8 mask, got f32", Error);
  CHECK_THROWS_WITH_AS(where(lt(a, a), a, zeros({5})), "where: shapes [2, 3] and [5] do not broadcast", Error);
  CHECK_THROWS_WITH_AS(clamp(a, 1, 0), "clamp: lower bound 1 is above upper bound 0", Error);
  CHECK_THROWS_WITH_AS(softplus(a, 0), "softplus: beta must be positive, got 0", Error);
  CHECK_THROWS_WITH_AS(add(Tensor(), a), "add: tensor is undefined", Error);
}

TEST_CASE("large elementwise ops split across threads give the same result as small ones") {
  // 200k elements is above the parallel grain; compare with the serial reference.
  const Tensor x = ref::make_input({400, 500}, DType::f32, Layout::transposed, 7);
  const Tensor y = gelu(x) * x + 1.0;
  ref::check_close(
      y, {400, 500},
      [&](const Index& i) {
        const double v = ref::read(x, i);
        return gelu_erf_ref(v) * v + 1;
      },
      1e-5, 1e-6, "gelu(x) * x + 1");
}
