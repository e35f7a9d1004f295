// The f32 forward and backward of every differentiable op against its f64
// result. Gradchecks run in f64 only, but training runs in f32 through separate
// kernel instantiations: this walks the gradcheck registry and runs each spec
// on f32 leaves and on f64 leaves holding the same (f32-rounded) values.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <tuple>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

using namespace gradlab;

namespace {

// The tolerance, relative to each tensor's largest magnitude. Both runs see
// the same input values, so the difference is only f32 arithmetic: unit
// roundoff 2^-24 = 6e-8 per operation, a few ulp per transcendental, grown by
// the depth of each spec (at most a dozen chained ops, sums of a few dozen
// terms) and its conditioning. 1e-4 is about 1700 units of f32 roundoff (the
// worst spec uses about a sixth of it), and still catches what matters: a wrong
// or missing backward term is off by O(1), and a path that loses precision
// (half or bfloat16 intermediates round by up to 5e-4 and 4e-3) is off by more.
constexpr double kTolerance = 1e-4;

struct Comparison {
  bool ok = true;
  double worst = 0;  // the largest |f32 - f64| / (|f64| + max |f64|)
  std::string first;
};

// Elementwise |got - want| <= tol (|want| + max |want|): relative where a value
// is large, and relative to the tensor's scale where a value is a cancellation.
Comparison compare(const Tensor& got32, const Tensor& want64) {
  Comparison c;
  if (got32.shape() != want64.shape()) {
    c.ok = false;
    c.first = fmt::format("shape {} but f64 gives {}", got32.shape(), want64.shape());
    return c;
  }
  const std::vector<double> g = got32.to_vector<double>(), w = want64.to_vector<double>();
  double scale = 0;
  for (double e : w)
    if (std::isfinite(e)) scale = std::max(scale, std::fabs(e));
  for (size_t i = 0; i < w.size(); ++i) {
    bool ok;
    double ratio = 0;
    if (!std::isfinite(w[i])) {
      ok = g[i] == w[i] || (std::isnan(g[i]) && std::isnan(w[i]));
    } else {
      const double bound = std::fabs(w[i]) + scale;
      const double err = std::fabs(g[i] - w[i]);
      ratio = bound > 0 ? err / bound : (err == 0 ? 0 : INFINITY);
      ok = ratio <= kTolerance;
    }
    c.worst = std::max(c.worst, ratio);
    if (!ok && c.ok) c.first = fmt::format("element {}: f32 {:.9g}, f64 {:.9g}", i, g[i], w[i]);
    c.ok = c.ok && ok;
  }
  return c;
}

// Largest ratio seen over every comparison, and where.
struct Worst {
  double ratio = 0;
  std::string what;
  void note(double r, const std::string& w) {
    if (r > ratio) ratio = r, what = w;
  }
};

// Draws the inputs gradcheck would, rounds them to f32, and runs f32_fn on f32
// leaves and f64_fn on f64 leaves holding the very same values (so input
// rounding is not part of the comparison); compares the outputs and, for one
// cotangent exact in both dtypes, every input gradient.
void check_f32_against_f64(const std::string& what, const std::function<Var(const Vars&)>& f32_fn,
                           const std::function<Var(const Vars&)>& f64_fn, const std::vector<GradInput>& inputs,
                           uint64_t seed, Worst& worst) {
  Generator gen(seed);
  Vars x32, x64;
  for (const GradInput& in : inputs) {
    const Tensor v32 = uniform(in.shape, in.lo, in.hi, gen, DType::f64).to(DType::f32);
    x32.push_back(Var::leaf(v32));
    x64.push_back(Var::leaf(v32.to(DType::f64)));
  }
  const Var y64 = f64_fn(x64);
  const Var y32 = f32_fn(x32);
  CHECK_MESSAGE(y32.dtype() == DType::f32, what, ": f32 inputs gave a ", dtype_name(y32.dtype()), " output");
  const Comparison fwd = compare(y32.value(), y64.value());
  CHECK_MESSAGE(fwd.ok, what, " forward: ", fwd.first);
  worst.note(fwd.worst, what + " forward");
  CHECK_MESSAGE(y32.requires_grad() == y64.requires_grad(), what);
  if (!y64.requires_grad() || !y32.requires_grad()) return;
  Generator vgen(seed + 99);
  const Tensor v32 = randn(y64.shape(), vgen, DType::f32);
  y64.backward(v32.to(DType::f64));
  y32.backward(v32);
  for (size_t i = 0; i < x32.size(); ++i) {
    const Tensor g64 = x64[i].grad().defined() ? x64[i].grad() : zeros_like(x64[i].value());
    const Tensor g32 = x32[i].grad().defined() ? x32[i].grad() : zeros_like(x32[i].value());
    CHECK_MESSAGE(g32.dtype() == DType::f32, what, " d input ", i, " is ", dtype_name(g32.dtype()));
    const Comparison back = compare(g32, g64);
    CHECK_MESSAGE(back.ok, what, " d input ", i, ": ", back.first);
    worst.note(back.worst, fmt::format("{} d input {}", what, i));
  }
}

// A spec whose function builds its own f64 constants (a mask, an offset)
// cannot take f32 leaves; the binary ops name both dtypes when refused.
bool refused_for_f64_constant(const std::string& message) { return message.find("f64") != std::string::npos; }

// dropout draws its mask in x's dtype (tensor/fused_layers.h: philox_uniform_f32
// or _f64), so the same generator drops different elements in f32 and f64 by
// design; its specs are compared below with one mask instead.
bool draws_per_dtype(const std::string& op) { return op == "dropout"; }

// The nuclear_norm specs' offsets (autograd/linalg.cpp), in any dtype.
Tensor offset_3x4(DType dt) { return tensor({3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0}, {3, 4}, dt); }
Tensor offset_2x4x3(DType dt) {
  return tensor({3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 2.5, 0, 1, 0, 0, 0, 0, 0}, {2, 4, 3}, dt);
}

// The f32 mask (scaled by 1 / (1 - p)) that dropout(x, p, Generator(seed) at
// offset) applies to an f32 x of this shape.
Tensor f32_dropout_mask(const Shape& shape, double p, uint64_t seed, uint64_t offset) {
  Generator g(seed);
  g.set_offset(offset);
  NoGradGuard no_grad;
  return dropout(Var(ones(shape, DType::f32)), p, g).value();
}

}  // namespace

TEST_CASE("every registered op: f32 forward and backward match f64 (walks the gradcheck registry)") {
  std::map<std::string, int> specs_of, ran_on;  // op name -> specs
  std::string refused;
  Worst worst;
  for (const GradcheckSpec& spec : gradcheck_registry()) {
    const std::string op = spec.op->name;
    const std::string what = fmt::format("{} [{}]", op, spec.label);
    ++specs_of[op];
    if (draws_per_dtype(op)) continue;
    try {
      check_f32_against_f64(what, spec.f, spec.f, spec.inputs, spec.options.seed, worst);
      ++ran_on[op];
    } catch (const Error& e) {
      if (refused_for_f64_constant(e.what())) {
        refused += " " + what + ";";
        continue;
      }
      FAIL_CHECK(what, ": raised: ", e.what());
    }
  }

  // The same checks for the specs above that could not run in f32: their
  // functions again, with the constants in the inputs' dtype.
  check_f32_against_f64(
      "nuclear_norm [3x4]", [](const Vars& x) { return nuclear_norm(x[0] + Var(offset_3x4(x[0].dtype()))); },
      [](const Vars& x) { return nuclear_norm(x[0] + Var(offset_3x4(x[0].dtype()))); }, {{{3, 4}, -0.2, 0.2}}, 0,
      worst);
  auto batched = [](const Vars& x) { return nuclear_norm(x[0] + Var(offset_2x4x3(x[0].dtype()))); };
  check_f32_against_f64("nuclear_norm [batched [2, 4, 3]]", batched, batched, {{{2, 4, 3}, -0.2, 0.2}}, 0, worst);
  ++ran_on["nuclear_norm"];
  auto masked = [](const Vars& x) {
    const Tensor mask = tensor({0, -INFINITY, 0, 0, 0, 0, 0, -INFINITY}, {2, 4}, x[0].dtype());
    return entropy(x[0] + Var(mask));
  };
  check_f32_against_f64("entropy [a -inf logit]", masked, masked, {{{2, 4}, -2, 2}}, 0, worst);
  // dropout: the f64 run multiplies by the mask the f32 run draws, so both
  // forward and backward (which replays the mask) are compared element by element.
  for (const auto& [p, seed, offset, shape] :
       {std::tuple<double, uint64_t, uint64_t, Shape>{0.4, 7, 0, {4, 5}}, {0.1, 11, 3, {3, 7}}, {0.5, 5, 0, {67}}}) {
    auto f32_fn = [p, seed, offset](const Vars& x) {
      Generator g(seed);
      g.set_offset(offset);
      return dropout(x[0], p, g);
    };
    auto f64_fn = [p, seed, offset](const Vars& x) {
      return x[0] * Var(f32_dropout_mask(x[0].shape(), p, seed, offset).to(DType::f64));
    };
    check_f32_against_f64(fmt::format("dropout [p {}, {}]", p, shape), f32_fn, f64_fn, {{shape}}, seed, worst);
    ++ran_on["dropout"];
  }

  // Every op with a spec was compared in f32 at least once.
  for (const auto& [op, n] : specs_of) CHECK_MESSAGE(ran_on[op] > 0, "op '", op, "' (", n, " specs) never ran in f32");
  MESSAGE("largest |f32 - f64| / (|f64| + max |f64|): ", worst.ratio, " (", worst.what,
          "); specs with f64 constants, checked above in the inputs' dtype:", refused);
}
