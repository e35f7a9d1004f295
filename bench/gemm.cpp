// build/bench/gemm: matmul throughput in GFLOP/s against numpy/OpenBLAS,
// measured side by side in one run, plus the share of this machine's measured
// FMA peak. Square sizes from --sizes and the tiny GPT's rectangular shapes
// (B*T = 2048 tokens, d = 128: qkv, MLP up and down, and the backward's
// transposed products, read in place).
//   build/bench/gemm --sizes 512,1024 --threads 2 --jsonl out.jsonl
//   build/bench/gemm --device cuda     # gradlab's matmul on the GPU (no CPU reference, no FMA peak)
//   build/bench/gemm --dtype bf16      # bf16 operands (AVX512-BF16 when built with it) against gradlab's
//                                      # own f32 matmul on the same shapes in the same run; % of twice
//                                      # the FMA peak (a bf16 dot instruction does two multiply-adds a lane)
// A case is MxKxN ([M, K] @ [K, N]); ":tA"/":tB" marks an operand read transposed.
#include "tensor/cpu/gemm.h"

#include <fmt/format.h>

#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/backend.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/ops.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

struct Case {
  std::string name;
  int64_t M, K, N;
  bool ta = false, tb = false;
};

Case parse_case(const std::string& text) {
  Case c{text, 0, 0, 0};
  const std::vector<std::string> parts = split_list(text, ':');
  GL_CHECK(!parts.empty(), "--shapes: empty case");
  const std::vector<int64_t> dims = parse_int_list(join(split_list(parts[0], 'x')), "--shapes");
  GL_CHECK(dims.size() == 3 && dims[0] > 0 && dims[1] > 0 && dims[2] > 0, "--shapes: '{}' is not MxKxN", text);
  c.M = dims[0], c.K = dims[1], c.N = dims[2];
  for (size_t i = 1; i < parts.size(); ++i) {
    GL_CHECK(parts[i] == "tA" || parts[i] == "tB", "--shapes: unknown flag ':{}' in '{}' (tA or tB)", parts[i], text);
    (parts[i] == "tA" ? c.ta : c.tb) = true;
  }
  return c;
}

struct Args {
  std::string sizes = "128,256,512,1024,2048";
  std::string shapes = "2048x128x384,2048x128x512,2048x512x128,128x2048x384:tA,2048x384x128:tB";
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t samples = 7;
  std::string dtype = "f32";
  std::string jsonl;
  bool no_reference = false;
  bool smoke = false;
  Device device = Device::cpu;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("gemm", "GEMM throughput (GFLOP/s) against numpy/OpenBLAS, measured in the same run.");
  Args args;
  cli.bind(args.sizes, "--sizes", "square sizes n (n x n @ n x n)");
  cli.bind(args.shapes, "--shapes", "rectangular cases MxKxN[:tA][:tB]; the defaults are the tiny GPT's");
  cli.bind(args.threads, "--threads", "OpenMP threads (both for gradlab and the reference)", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the random operands", {0, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per case", {1, INT64_MAX});
  cli.bind(args.dtype, "--dtype", "f32, f64, or bf16 (against gradlab's f32 in the same run)");
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.no_reference, "--no-reference", "skip the numpy reference");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run to check that the binary works (no reference)");
  cli.bind(args.device, "--device", "where the operands live (the references and the FMA peak are the CPU's only)");
  cli.parse(argc, argv);
  try {
    args.sizes = cli.budget_default<std::string>(args.smoke, "--sizes", args.sizes, "64");
    args.shapes = cli.budget_default<std::string>(args.smoke, "--shapes", args.shapes, "96x33x70:tA");
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    const bool on_cpu = args.device == Device::cpu;
    if (args.smoke || !on_cpu) args.no_reference = true;
    GL_CHECK(args.dtype == "f32" || args.dtype == "f64" || args.dtype == "bf16",
             "--dtype: expected f32, f64 or bf16, got '{}'", args.dtype);
    GL_CHECK(args.threads >= 1, "--threads: must be >= 1, got {}", args.threads);
    const bool bf16 = args.dtype == "bf16";
    if (bf16) args.no_reference = true;  // numpy has no bf16: gradlab's f32 is the comparison
    const DType dt = args.dtype == "f64" ? DType::f64 : DType::f32;  // bf16 operands are rounded f32 ones
    set_num_threads(int(args.threads));
    std::vector<Case> cases;
    for (int64_t n : parse_int_list(args.sizes, "--sizes")) cases.push_back({fmt::format("{0}x{0}x{0}", n), n, n, n});
    for (const std::string& s : split_list(args.shapes)) cases.push_back(parse_case(s));

    const double peak_scale = dt == DType::f64 ? 0.5 : bf16 && cpu::gemm_bf16_available() ? 2.0 : 1.0;
    const double peak = args.smoke || !on_cpu ? 0 : measured_fma_peak_gflops(int(args.threads)) * peak_scale;
    std::printf("gemm: %s, %s, %lld thread(s), micro-kernel %s, %s\n", args.dtype.c_str(),
                std::string(device_name(args.device)).c_str(), (long long)args.threads,
                !on_cpu                                  ? "(the device's)"
                : bf16 && cpu::gemm_bf16_available()     ? "avx512-bf16"
                : bf16                                   ? "f32 on widened operands"
                                                         : cpu::gemm_isa(),
                peak > 0 ? fmt::format("measured FMA peak {:.0f} GFLOP/s", peak).c_str() : "FMA peak not measured");

    // gradlab is timed twice, before and after the reference, and the samples pooled.
    Generator gen{uint64_t(args.seed)};
    std::vector<std::pair<Tensor, Tensor>> operands, operands_f32;
    for (const Case& c : cases) {
      const Tensor a_store = randn(c.ta ? Shape{c.K, c.M} : Shape{c.M, c.K}, gen, dt);
      const Tensor b_store = randn(c.tb ? Shape{c.N, c.K} : Shape{c.K, c.N}, gen, dt);
      const Tensor a_dev = a_store.to(args.device), b_dev = b_store.to(args.device);
      operands_f32.push_back({c.ta ? a_dev.mT() : a_dev, c.tb ? b_dev.mT() : b_dev});
      const Tensor a_run = bf16 ? a_dev.to(DType::bf16) : a_dev, b_run = bf16 ? b_dev.to(DType::bf16) : b_dev;
      operands.push_back({c.ta ? a_run.mT() : a_run, c.tb ? b_run.mT() : b_run});
    }
    const int half = std::max(1, int(args.samples + 1) / 2);
    const Backend& be = backend(args.device);
    auto time_all = [&](const std::vector<std::pair<Tensor, Tensor>>& which) {
      std::vector<Timing> ts;
      for (const auto& [a, b] : which)
        ts.push_back(time_it(
            [&] {
              matmul(a, b);
              be.synchronize();  // a device's queue drained inside the timed region
            },
            half, args.smoke ? 0.0 : 0.02, args.smoke ? 0 : 2));
      return ts;
    };
    const std::vector<Timing> before = time_all(operands);

    // The reference, in one Python process.
    std::vector<std::string> names;
    for (const Case& c : cases) names.push_back(c.name);
    Reference ref;
    if (!args.no_reference) {
      ref = run_reference("bench/pytorch/numpy_gemm.py",
                          fmt::format("--cases {} --samples {} --dtype {}", join(names), args.samples, args.dtype),
                          int(args.threads));
      if (!ref.ok)
        std::printf("reference skipped: %s (install python3-numpy and libopenblas0-pthread: make bench-deps)\n",
                    ref.why.c_str());
    }

    std::vector<Timing> after = args.no_reference ? std::vector<Timing>{} : time_all(operands);
    // bf16: gradlab's f32 matmul on the same shapes is the comparison, then bf16 again.
    std::vector<Timing> f32_timings;
    if (bf16 && !args.smoke) {
      f32_timings = time_all(operands_f32);
      after = time_all(operands);
      ref.ok = true;
      ref.label = "gradlab-f32";
    }

    Jsonl out(args.jsonl);
    Table table({"case", "GFLOP/s", "min-max", "% peak", ref.ok ? ref.label : "numpy", "ratio"});
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      const Timing t = after.empty() ? before[i] : merge(before[i], after[i]);
      const double flops = 2.0 * double(c.M) * double(c.N) * double(c.K);
      const double gflops = flops / t.median / 1e9;
      std::vector<std::string> row = {c.name, fmt::format("{:.1f}", gflops),
                                      fmt::format("{:.1f}-{:.1f}", flops / t.max / 1e9, flops / t.min / 1e9),
                                      peak > 0 ? fmt::format("{:.0f}%", 100 * gflops / peak) : "-"};
      Jsonl::Record rec{.bench = "gemm",
                        .case_name = c.name,
                        .metric = "gflops",
                        .value = gflops,
                        .unit = "GFLOP/s",
                        .threads = int(args.threads)};
      rec.extra["dtype"] = args.dtype;
      rec.extra["device"] = std::string(device_name(args.device));
      const std::optional<double> ref_seconds =
          f32_timings.empty() ? ref.seconds(c.name) : std::optional(f32_timings[i].median);
      add_comparison(row, rec, gflops, ref_seconds ? std::optional(flops / *ref_seconds / 1e9) : std::nullopt,
                     ref.label);
      table.row(row);
      out.write(rec);
      if (peak > 0) {
        out.write({.bench = "gemm",
                   .case_name = c.name,
                   .metric = "percent_of_peak",
                   .value = 100 * gflops / peak,
                   .unit = "%",
                   .threads = int(args.threads)});
      }
    }
    std::fputs(table.str().c_str(), stdout);
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "gemm: %s\n", e.what());
    return 1;
  }
  return 0;
}
