// Runs the op-spec table (tests/ops/op_specs.h) in its modes:
//  - coverage: fails for any GL_OP without a spec, any kernel of
//    GL_KERNEL_LIST that no spec exercises, any spec naming an unknown op or
//    kernel, and any public function of the tensor headers no spec covers;
//  - reference: every spec, sample and dtype on every available backend
//    against the reference backend in f64 (the oracle; see Oracle);
//  - gradcheck: the GL_GRADCHECK specs of every differentiable spec's op, on
//    the CPU and on the reference backend;
//  - parity: every spec on CUDA against the CPU (skipped without a GPU);
//  - perf: each spec's forward timed on each backend, a table of us/call,
//    only with GRADLAB_OP_PERF=1 (build/tests/ops -tc='*perf*').
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "autograd/gradcheck.h"
#include "tensor/parallel.h"
#include "tensor/unary_ops.h"
#include "tests/ops/op_specs.h"

using namespace gradlab;
using namespace gradlab::op_specs;

namespace {

// ---------------------------------------------------------------- comparing

// "a, b, c"
template <class T>
std::string joined(const std::vector<T>& items) {
  std::string out;
  for (const T& item : items) out += fmt::format("{}{}", out.empty() ? "" : ", ", item);
  return out;
}

std::string index_string(int64_t flat, const Shape& shape) {
  std::vector<int64_t> idx(size_t(shape.size()));
  for (int d = shape.size() - 1; d >= 0; --d) {
    idx[size_t(d)] = shape[d] == 0 ? 0 : flat % shape[d];
    flat = shape[d] == 0 ? 0 : flat / shape[d];
  }
  return fmt::format("[{}]", joined(idx));
}

// Empty when `result` (a run's output) matches `expected` (the oracle's or the
// other backend's) within tol; otherwise what differs. Integer and b8 outputs
// must be equal; NaN matches NaN and an infinity itself.
std::string mismatch(const Tensor& result, const Tensor& expected, Tol tol) {
  if (!result.defined() || !expected.defined())
    return result.defined() == expected.defined() ? "" : "one output is undefined, the other is not";
  if (!(result.shape() == expected.shape()))
    return fmt::format("shapes differ: {} against {}", result.shape(), expected.shape());
  const bool floating = is_floating(result.dtype());
  if (floating != is_floating(expected.dtype()) || (!floating && result.dtype() != expected.dtype()))
    return fmt::format("dtypes differ: {} against {}", result.dtype(), expected.dtype());
  if (!floating) tol = {0, 0};
  const std::vector<double> a = result.to(Device::cpu).to_vector<double>();
  const std::vector<double> b = expected.to(Device::cpu).to_vector<double>();
  int64_t bad = 0;
  double worst = 0;
  std::string first;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    if ((std::isnan(x) && std::isnan(y)) || x == y) continue;
    const double diff = std::fabs(x - y);
    if (diff <= tol.atol + tol.rtol * std::fabs(y)) continue;
    if (bad < 4) first += fmt::format(" {} {:.9g} against {:.9g};", index_string(int64_t(i), result.shape()), x, y);
    worst = std::isnan(diff) ? INFINITY : std::max(worst, diff);
    ++bad;
  }
  if (bad == 0) return "";
  return fmt::format("{} of {} elements differ (atol {:.3g}, rtol {:.3g}; largest |diff| {:.3g}):{}", bad, a.size(),
                     tol.atol, tol.rtol, worst, first);
}

Tol tolerance(const OpSpec& spec, DType dtype, double factor = 1) {
  const Tol t = dtype == DType::f32 ? spec.f32 : (dtype == DType::f64 ? spec.f64 : Tol{0, 0});
  return {t.atol * factor, t.rtol * factor};
}

// Each output of `result` against `expected`; empty when all match.
std::string compare_outputs(const Outputs& result, const Outputs& expected, Tol tol, Device device) {
  if (result.size() != expected.size()) return fmt::format("{} outputs against {}", result.size(), expected.size());
  std::string all;
  for (size_t i = 0; i < result.size(); ++i) {
    if (result[i].defined() && result[i].device() != device)
      all += fmt::format(" output {} is on {}, not {};", i, result[i].device(), device);
    const std::string m = mismatch(result[i], expected[i], tol);
    if (!m.empty()) all += fmt::format(" output {}: {}", i, m);
  }
  return all;
}

std::vector<DType> run_dtypes(const OpSpec& spec, const Sample& sample) {
  if (sample.dtypes.empty()) return spec.dtypes;
  std::vector<DType> out;
  for (DType dt : spec.dtypes)
    if (std::find(sample.dtypes.begin(), sample.dtypes.end(), dt) != sample.dtypes.end()) out.push_back(dt);
  return out;
}

std::string what(const OpSpec& spec, const Sample& sample, DType dtype, Device device) {
  return fmt::format("{} [{}] {} on {}", spec.name, sample.label, dtype, device);
}

// Runs f, turning a gradlab::Error into its message (a failed check), so that
// one failing spec does not hide the others.
template <class F>
std::string guarded(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return fmt::format("threw: {}", e.what());
  }
}

// ---------------------------------------------------------------- the headers

// The repository root: the working directory (make test runs there) or a
// folder above it or above the binary (build/tests/ops).
std::filesystem::path repository_root() {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::path p : {fs::current_path(ec), fs::read_symlink("/proc/self/exe", ec).parent_path()}) {
    for (; !p.empty(); p = p.parent_path()) {
      if (fs::exists(p / "tensor" / "ops.h")) return p;
      if (p == p.root_path()) break;
    }
  }
  return {};
}

// The names of the free functions a header declares at namespace scope (its
// unindented declarations: "Tensor sum(", "Tensor& index_add_(", "Tensor operator+(").
std::set<std::string> declared_functions(const std::filesystem::path& header) {
  static const std::regex declaration(
      R"(^(?:inline\s+)?(?:GL_HD\s+)?(?:constexpr\s+)?(?:const\s+)?[A-Za-z_][\w:<>,]*\s*[&*]?\s+[&*]?(operator[^\s(]+|\w+)\s*\()");
  std::set<std::string> names;
  std::ifstream in(header);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ' || line.rfind("//", 0) == 0 || line.rfind("#", 0) == 0 ||
        line.rfind("return", 0) == 0 || line.rfind("using", 0) == 0)
      continue;
    std::smatch m;
    if (std::regex_search(line, m, declaration)) names.insert(m[1]);
  }
  return names;
}

bool perf_enabled() {
  const char* v = std::getenv("GRADLAB_OP_PERF");
  return v != nullptr && std::string(v) != "0" && std::string(v) != "";
}

// ---------------------------------------------------------------- coverage

// What a table leaves undescribed or names wrongly; every list empty for a
// complete table.
struct Coverage {
  std::vector<std::string> ops_without_spec;  // GL_OPs no spec names
  std::vector<std::string> ops_said_not_differentiable;
  std::vector<std::string> unknown_ops;          // differentiable specs whose name is no GL_OP
  std::vector<std::string> unknown_kernels;      // named by a spec, not in GL_KERNEL_LIST
  std::vector<std::string> unexercised_kernels;  // in GL_KERNEL_LIST, named by no spec
  std::vector<std::string> uncovered_functions;  // declared by a covered header, listed by no spec
  std::vector<std::string> unknown_functions;    // listed by a spec or excused, declared by no covered header
};

Coverage coverage_of(const std::vector<OpSpec>& table, const std::set<std::string>& declared) {
  Coverage c;
  std::map<std::string, const OpSpec*> by_name;
  for (const OpSpec& spec : table) by_name[spec.name] = &spec;
  std::set<std::string> registered;
  for (const OpInfo* op : op_registry()) {
    registered.insert(op->name);
    const auto it = by_name.find(op->name);
    if (it == by_name.end())
      c.ops_without_spec.push_back(fmt::format("{} ({})", op->name, op->file));
    else if (!it->second->differentiable)
      c.ops_said_not_differentiable.push_back(op->name);
  }
  for (const OpSpec& spec : table)
    if (spec.differentiable && registered.count(spec.name) == 0) c.unknown_ops.push_back(spec.name);

  const std::set<std::string> known(kernel_names().begin(), kernel_names().end());
  std::set<std::string> exercised;
  for (const OpSpec& spec : table)
    for (const std::string& k : spec.kernels) {
      if (known.count(k) == 0) c.unknown_kernels.push_back(fmt::format("{} (spec {})", k, spec.name));
      exercised.insert(k);
    }
  for (const std::string& k : kernel_names())
    if (exercised.count(k) == 0) c.unexercised_kernels.push_back(k);

  std::set<std::string> listed, excused;
  for (const OpSpec& spec : table) listed.insert(spec.functions.begin(), spec.functions.end());
  for (const NotAnOp& n : functions_not_ops()) excused.insert(n.function);
  for (const std::string& f : declared)
    if (listed.count(f) == 0 && excused.count(f) == 0) c.uncovered_functions.push_back(f);
  for (const std::set<std::string>* names : {&listed, &excused})
    for (const std::string& f : *names)
      if (declared.count(f) == 0) c.unknown_functions.push_back(f);
  return c;
}

// The public functions of the covered headers, read from the sources.
std::set<std::string> public_functions() {
  const std::filesystem::path root = repository_root();
  REQUIRE_MESSAGE(!root.empty(), "the repository (tensor/ops.h) is not found from the working directory or the binary");
  std::set<std::string> declared;
  for (const std::string& header : covered_headers()) {
    const std::set<std::string> names = declared_functions(root / header);
    CHECK_MESSAGE(!names.empty(), header, " declares no function (or was not read)");
    declared.insert(names.begin(), names.end());
  }
  // tensor/ops.h declares one function a row of GL_UNARY_OPS_PLAIN through a macro.
#define GL_UNARY_NAME(name, ...) declared.insert(#name);
  GL_UNARY_OPS_PLAIN(GL_UNARY_NAME)
#undef GL_UNARY_NAME
  return declared;
}

}  // namespace

TEST_CASE("op specs: the table is well formed") {
  const std::vector<OpSpec>& table = op_spec_table();
  REQUIRE(table.size() >= 80);
  std::set<std::string> names;
  for (const OpSpec& spec : table) {
    INFO("spec ", spec.name);
    CHECK_MESSAGE(names.insert(spec.name).second, "spec name '", spec.name, "' is used twice");
    CHECK(!spec.samples.empty());
    CHECK(!spec.dtypes.empty());
    CHECK(spec.forward);
    CHECK_MESSAGE(spec.differentiable == spec.not_differentiable_because.empty(),
                  "a spec is either differentiable (linked to its GL_OP) or says why not");
    bool any_test_sample = false;
    for (const Sample& s : spec.samples) {
      any_test_sample = any_test_sample || (!s.perf_only && !run_dtypes(spec, s).empty());
      for (const SampleInput& in : s.inputs) CHECK_MESSAGE(in.base.is_cpu(), "sample inputs are made on the CPU");
    }
    CHECK_MESSAGE(any_test_sample, "no sample runs in the normal test");
    for (DType dt : {DType::f32, DType::f64})
      CHECK_MESSAGE(tolerance(spec, dt).atol >= 0, "tolerances are not negative");
  }
}

TEST_CASE("op specs: every GL_OP, kernel and public tensor function is described, and nothing unknown is named") {
  REQUIRE(op_registry().size() >= 40);
  REQUIRE(kernel_names().size() >= 28);
  const Coverage c = coverage_of(op_spec_table(), public_functions());
  CHECK_MESSAGE(c.ops_without_spec.empty(),
                "GL_OPs without an OpSpec (add one to its family in tests/ops/specs_*.cpp): ", joined(c.ops_without_spec));
  CHECK_MESSAGE(c.ops_said_not_differentiable.empty(),
                "GL_OPs whose spec says not differentiable: ", joined(c.ops_said_not_differentiable));
  CHECK_MESSAGE(c.unknown_ops.empty(), "differentiable specs whose name is no GL_OP: ", joined(c.unknown_ops));
  CHECK_MESSAGE(c.unknown_kernels.empty(),
                "kernels named by specs but not in GL_KERNEL_LIST: ", joined(c.unknown_kernels));
  CHECK_MESSAGE(c.unexercised_kernels.empty(),
                "kernels of GL_KERNEL_LIST that no spec exercises: ", joined(c.unexercised_kernels));
  CHECK_MESSAGE(c.uncovered_functions.empty(),
                "public functions that no OpSpec lists in its functions: ", joined(c.uncovered_functions));
  CHECK_MESSAGE(c.unknown_functions.empty(),
                "functions the table names but no covered header declares: ", joined(c.unknown_functions));
}

TEST_CASE("op specs: the coverage checks catch what a table leaves out or names wrongly") {
  std::vector<OpSpec> table = op_spec_table();
  std::set<std::string> declared = public_functions();
  // Drop matmul's spec (the only one for the GL_OP "matmul" and the function
  // "matmul"), name a kernel and an op that do not exist, and declare a new function.
  std::erase_if(table, [](const OpSpec& s) { return s.name == "matmul"; });
  table[0].kernels.push_back("no_such_kernel");
  table[1].name = "no_such_op";
  declared.insert("a_new_public_function");
  const Coverage c = coverage_of(table, declared);
  auto has = [](const std::vector<std::string>& list, const std::string& prefix) {
    return std::any_of(list.begin(), list.end(), [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
  };
  CHECK(has(c.ops_without_spec, "matmul ("));
  CHECK(has(c.ops_without_spec, op_spec_table()[1].name + " ("));
  CHECK(has(c.unknown_ops, "no_such_op"));
  CHECK(has(c.unknown_kernels, "no_such_kernel (spec "));
  CHECK(has(c.uncovered_functions, "matmul"));
  CHECK(has(c.uncovered_functions, "a_new_public_function"));
  // A table without any spec exercising the matmul kernel leaves it unexercised.
  for (OpSpec& s : table) std::erase(s.kernels, "matmul");
  CHECK(has(coverage_of(table, declared).unexercised_kernels, "matmul"));
}

// ---------------------------------------------------------------- reference

TEST_CASE("op specs: every backend against the reference backend") {
  // The reference backend is part of every build (tensor/ref/): the oracle.
  REQUIRE_MESSAGE(backend_available(Device::ref), "the reference backend (tensor/ref/) is missing from this build");
  const Device oracle_device = Device::ref;
  const std::vector<Device> devices = available_devices();
  int runs = 0;
  for (const OpSpec& spec : op_spec_table())
    for (const Sample& sample : spec.samples) {
      if (sample.perf_only) continue;
      for (DType dtype : run_dtypes(spec, sample)) {
        Outputs oracle;
        const std::string oracle_error = guarded([&] {
          oracle = run_oracle(spec, sample, dtype, oracle_device);
          return std::string();
        });
        CHECK_MESSAGE(oracle_error.empty(), "oracle for ", what(spec, sample, dtype, oracle_device), ": ",
                      oracle_error);
        if (!oracle_error.empty()) continue;
        for (Device device : devices) {
          const std::string m = guarded([&] {
            return compare_outputs(run_forward(spec, sample, device, dtype), oracle, tolerance(spec, dtype), device);
          });
          CHECK_MESSAGE(m.empty(), what(spec, sample, dtype, device), ":", m);
          ++runs;
        }
      }
    }
  MESSAGE(runs, " runs on ", devices.size(), " backends against the oracle on ", device_name(oracle_device));
}

// ---------------------------------------------------------------- gradients

// Each GL_GRADCHECK spec of each differentiable spec's op, in f64 on the CPU
// and, when present, on the reference backend (whose memory the host reads, so
// gradcheck can perturb inputs there). A spec whose function makes its own CPU
// tensors (indices, masks, targets) cannot run on another device unchanged:
// those are counted and named, not failed.
TEST_CASE("op specs: the gradient checks of every differentiable op") {
  std::map<std::string, std::vector<const GradcheckSpec*>> by_op;
  for (const GradcheckSpec& g : gradcheck_registry()) by_op[g.op->name].push_back(&g);
  std::vector<Device> devices = {Device::cpu};
  if (backend_available(Device::ref)) devices.push_back(Device::ref);
  int checks = 0;
  std::map<std::string, int> cpu_constants;  // op -> its specs that make CPU tensors
  for (const OpSpec& spec : op_spec_table()) {
    if (!spec.differentiable) continue;
    const auto it = by_op.find(spec.name);
    CHECK_MESSAGE(it != by_op.end(), spec.name, " is differentiable but has no GL_GRADCHECK spec");
    if (it == by_op.end()) continue;
    for (const GradcheckSpec* g : it->second)
      for (Device device : devices) {
        GradcheckOptions options = g->options;
        options.device = device;
        GradcheckResult r;
        try {
          r = gradcheck(g->f, g->inputs, options);
        } catch (const Error& e) {
          const std::string message = e.what();
          const bool cpu_tensor =
              message.find("different devices") != std::string::npos || message.find(" on cpu") != std::string::npos;
          if (device != Device::cpu && cpu_tensor) {
            ++cpu_constants[spec.name];
            continue;
          }
          r = {false, 0, "threw: " + message};
        }
        CHECK_MESSAGE(r.ok, spec.name, " [", g->label, "] on ", device_name(device), ": ", r.message);
        ++checks;
      }
  }
  std::string listed;
  for (const auto& [op, n] : cpu_constants) listed += fmt::format(" {} ({})", op, n);
  MESSAGE(checks, " gradient checks (f64 central differences) on ", devices.size(), " backends",
          listed.empty() ? std::string() : "; specs that make CPU tensors, run on the CPU only:" + listed);
}

// ---------------------------------------------------------------- CUDA parity

TEST_CASE("op specs: CUDA against the CPU") {
  if (!backend_available(Device::cuda)) {
    MESSAGE("skipped: no CUDA device");
    return;
  }
  // Both backends are within the spec's tolerance of the exact result, so
  // within twice of each other.
  for (const OpSpec& spec : op_spec_table())
    for (const Sample& sample : spec.samples) {
      if (sample.perf_only) continue;
      for (DType dtype : run_dtypes(spec, sample)) {
        const std::string m = guarded([&] {
          return compare_outputs(run_forward(spec, sample, Device::cuda, dtype),
                                 run_forward(spec, sample, Device::cpu, dtype), tolerance(spec, dtype, 2),
                                 Device::cuda);
        });
        CHECK_MESSAGE(m.empty(), what(spec, sample, dtype, Device::cuda), " against the CPU:", m);
      }
    }
}

// ---------------------------------------------------------------- perf

TEST_CASE("op specs: perf table (GRADLAB_OP_PERF=1)" * doctest::skip(!perf_enabled())) {
  using Clock = std::chrono::steady_clock;
  NoGradGuard no_grad;  // forwards only
  std::string table =
      fmt::format("{} threads (OMP_NUM_THREADS; on a shared machine, 1 gives steadier figures)\n", num_threads());
  table +=
      fmt::format("{:<16} {:<40} {:<5} {:<4} {:>12} {:>12}\n", "op", "sample", "dev", "type", "median us", "best us");
  for (const OpSpec& spec : op_spec_table()) {
    // The perf sample when the spec has one, else its largest.
    const Sample* chosen = nullptr;
    int64_t chosen_size = -1;
    for (const Sample& s : spec.samples) {
      int64_t size = 0;
      for (const SampleInput& in : s.inputs) size += in.base.numel();
      if (s.perf_only) size += int64_t(1) << 40;
      if (size > chosen_size) chosen = &s, chosen_size = size;
    }
    for (Device device : available_devices())
      for (DType dtype : run_dtypes(spec, *chosen)) {
        const std::vector<Tensor> x = materialize(*chosen, device, dtype, dtype);
        std::vector<bool> fixed;
        for (const SampleInput& in : chosen->inputs) fixed.push_back(in.fixed);
        const Call call{x, chosen->args, device, dtype, fixed};
        const Backend& be = backend(device);
        const auto synchronize = [&] {
          if (be.synchronize) be.synchronize();
        };
        const std::string error = guarded([&] {
          spec.forward(call);  // warm-up
          synchronize();
          // Each call timed alone; the median and the best of them, since the
          // machine may be shared (the best is what the kernel can do).
          std::vector<double> seconds;
          double total = 0;
          while (seconds.size() < 5 || total < 0.02) {
            const auto start = Clock::now();
            spec.forward(call);
            synchronize();
            seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
            total += seconds.back();
          }
          std::sort(seconds.begin(), seconds.end());
          table +=
              fmt::format("{:<16} {:<40} {:<5} {:<4} {:>12.1f} {:>12.1f}\n", spec.name, chosen->label,
                          device_name(device), dtype_name(dtype), 1e6 * seconds[seconds.size() / 2], 1e6 * seconds[0]);
          return std::string();
        });
        if (!error.empty())
          table += fmt::format("{:<16} {:<40} {:<5} {:<4} {:>12}\n", spec.name, chosen->label, device_name(device),
                               dtype_name(dtype), error);
      }
  }
  fmt::print("{}", table);
}
