// build/bench/gpu: the CUDA backend's figures, each against its reference in
// the same run on the same GPU:
//   gemm_cublas      f32 GEMM n x n x n through matmul (cuBLAS), GFLOP/s
//   gemm_tiled       the hand-written tiled kernel (tensor/cuda/tiled_gemm.cu), as % of cuBLAS
//   elementwise_add  c = a + b (allocating), GB/s, against the device's copy bandwidth (clone)
//   gpt_train_small  GPT V64 T64 D128 H4 L2 B32 AdamW step, tokens/s, against PyTorch
//   gpt_train_gpt2s  GPT V50257 T1024 D768 H12 L12 B8 AdamW step, tokens/s, against PyTorch
// PyTorch runs bench/pytorch/gpu_models.py with the same configs on the same GPU.
// TF32 is off on both sides unless --tf32. Without a GPU it prints why and exits 0.
//   build/bench/gpu --jsonl bench/results/gpu/gpu.jsonl
#include <fmt/format.h>

#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "nn/gpt.h"
#include "optim/adam.h"
#include "tensor/cuda/tiled_gemm.h"
#include "tensor/device.h"
#include "tensor/ops.h"
#include "tensor/parallel.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

// Times fn on the GPU: each call is followed by a synchronise, so the time is the kernels'.
Timing time_gpu(const std::function<void()>& fn, int samples, double min_seconds) {
  return time_it(
      [&] {
        fn();
        cuda_synchronize();
      },
      samples, min_seconds, 2);
}

struct GptConfigCase {
  std::string name;
  nn::GPTConfig config;
  int64_t batch;
};

// Moves a module to the GPU; returns its parameters (for the optimiser).
std::vector<Var> to_cuda(nn::Module& m) {
  m.to(Device::cuda);
  return m.parameters();
}

// One AdamW training step of a GPT on CUDA.
struct GptTrain {
  GptTrain(const nn::GPTConfig& c, int64_t batch, uint64_t seed)
      : gen(seed), model(c, gen), opt(to_cuda(model), {.lr = 3e-4}) {
    idx = randint(0, c.vocab, {batch, c.context}, gen).to(Device::cuda);
    target = randint(0, c.vocab, {batch, c.context}, gen).to(Device::cuda);
  }
  void step() {
    const Var loss = cross_entropy(model(idx), target);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  Generator gen;
  nn::GPT model;
  optim::AdamW opt;
  Tensor idx, target;
};

struct Args {
  int64_t gemm_n = 4096;
  int64_t elements = int64_t(1) << 26;
  int64_t samples = 5;
  int64_t seed = 0;
  int64_t threads = 1;
  std::string cases = "gemm_cublas,gemm_tiled,elementwise_add,gpt_train_small,gpt_train_gpt2s";
  std::string jsonl;
  bool tf32 = false;
  bool no_reference = false;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("gpu", "CUDA backend figures (GEMM, elementwise bandwidth, GPT training) against cuBLAS, copy and PyTorch.");
  Args args;
  cli.bind(args.gemm_n, "--gemm-n", "GEMM size n (n x n x n)", {1, INT64_MAX});
  cli.bind(args.elements, "--elements", "floats per tensor in the elementwise case", {1, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per case", {1, INT64_MAX});
  cli.bind(args.seed, "--seed", "seed for weights and data", {0, INT64_MAX});
  cli.bind(args.threads, "--threads", "OpenMP threads for the host-side work (initialisation, data)", kThreadBounds);
  cli.bind(args.cases, "--cases", "cases to run");
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.tf32, "--tf32", "allow TF32 tensor cores for f32 GEMMs (on both sides)");
  cli.bind_flag(args.no_reference, "--no-reference", "skip the PyTorch reference");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run to check that the binary works (no reference)");
  cli.parse(argc, argv);
  try {
    GL_CHECK(args.threads >= 1, "--threads: must be >= 1, got {}", args.threads);
    set_num_threads(int(args.threads));
    if (!cuda_available()) {
      std::printf("gpu: skipped: no CUDA device (%s)\n", cuda_device_name().c_str());
      return 0;
    }
    args.gemm_n = cli.budget_default<int64_t>(args.smoke, "--gemm-n", args.gemm_n, 256);
    args.elements = cli.budget_default<int64_t>(args.smoke, "--elements", args.elements, 1 << 16);
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    if (args.smoke) args.no_reference = true;
    const std::vector<std::string> cases = split_list(args.cases);
    cuda_allow_tf32(args.tf32);
    const std::string device = cuda_device_name();
    std::printf("gpu: %s, TF32 %s\n", device.c_str(), args.tf32 ? "on" : "off");
    Jsonl out(args.jsonl);
    Table table({"case", "gradlab", "unit", "reference", "ref value", "ratio"});
    const double min_seconds = args.smoke ? 0.0 : 0.2;
    auto record = [&](const std::string& name, const std::string& metric, double value, const std::string& unit,
                      const std::string& baseline, double baseline_value) {
      Jsonl::Record r{.bench = "gpu", .case_name = name, .metric = metric, .value = value, .unit = unit};
      r.extra["device"] = device;
      r.extra["tf32"] = args.tf32 ? "on" : "off";
      if (!baseline.empty()) {
        r.baseline = baseline;
        r.baseline_value = baseline_value;
      }
      out.write(r);
      std::fprintf(stderr, "[gpu] %s: %.1f %s\n", name.c_str(), value, unit.c_str());
      table.row({name, fmt::format("{:.1f}", value), unit, baseline.empty() ? "-" : baseline,
                 baseline.empty() ? "-" : fmt::format("{:.1f}", baseline_value),
                 baseline.empty() ? "-" : fmt::format("{:.3f}", value / baseline_value)});
    };
    auto wants = [&](const std::string& c) { return std::find(cases.begin(), cases.end(), c) != cases.end(); };
    Generator gen{uint64_t(args.seed)};
    double cublas_gflops = 0;
    if (wants("gemm_cublas") || wants("gemm_tiled")) {
      const Tensor a = randn({args.gemm_n, args.gemm_n}, gen, DType::f32, Device::cuda),
                   b = randn({args.gemm_n, args.gemm_n}, gen, DType::f32, Device::cuda);
      const double flops = 2.0 * double(args.gemm_n) * double(args.gemm_n) * double(args.gemm_n);
      const Timing tc = time_gpu([&] { matmul(a, b); }, int(args.samples), min_seconds);
      cublas_gflops = flops / tc.median / 1e9;
      record("gemm_cublas", "gflops", cublas_gflops, "GFLOP/s", "", 0);
      if (wants("gemm_tiled")) {
        const Tensor c = Tensor::empty({args.gemm_n, args.gemm_n}, DType::f32, Device::cuda);
        cuda_tiled_gemm(a, b, c);
        const Tensor ref = matmul(a, b);
        const double err = max(abs(c - ref)).item() / std::max(1e-30, max(abs(ref)).item());
        GL_CHECK(err < (args.tf32 ? 1e-2 : 1e-4), "gemm_tiled: result differs from cuBLAS by {} (relative)", err);
        const Timing tt = time_gpu([&] { cuda_tiled_gemm(a, b, c); }, int(args.samples), min_seconds);
        record("gemm_tiled", "gflops", flops / tt.median / 1e9, "GFLOP/s", "cublas", cublas_gflops);
      }
    }
    if (wants("elementwise_add")) {
      const Tensor a = rand({args.elements}, gen, DType::f32, Device::cuda),
                   b = rand({args.elements}, gen, DType::f32, Device::cuda);
      const double bytes_add = 3.0 * 4.0 * double(args.elements), bytes_copy = 2.0 * 4.0 * double(args.elements);
      const Timing tcopy = time_gpu([&] { a.clone(); }, int(args.samples), min_seconds);
      const Timing tadd = time_gpu([&] { add(a, b); }, int(args.samples), min_seconds);
      record("elementwise_add", "gb_per_s", bytes_add / tadd.median / 1e9, "GB/s", "device-copy",
             bytes_copy / tcopy.median / 1e9);
    }
    // The PyTorch reference, in one run for both GPT configs.
    Reference ref;
    std::vector<GptConfigCase> gpts;
    if (wants("gpt_train_small"))
      gpts.push_back({"gpt_train_small", {.vocab = 64, .context = 64, .d_model = 128, .heads = 4, .layers = 2}, 32});
    if (wants("gpt_train_gpt2s"))
      gpts.push_back(
          {"gpt_train_gpt2s", {.vocab = 50257, .context = 1024, .d_model = 768, .heads = 12, .layers = 12}, 8});
    if (args.smoke)
      for (auto& g : gpts)
        g.config.context = 16, g.config.layers = 1, g.config.vocab = 64, g.config.d_model = 64, g.config.heads = 2,
        g.batch = 2;
    if (!gpts.empty() && !args.no_reference) {
      std::string names;
      for (const auto& g : gpts) names += (names.empty() ? "" : ",") + g.name;
      ref = run_reference("bench/pytorch/gpu_models.py",
                          fmt::format("--cases {} --samples {}{}", names, args.samples, args.tf32 ? " --tf32" : ""), 1);
      if (!ref.ok) std::printf("PyTorch reference unavailable: %s\n", ref.why.c_str());
    }
    for (const auto& g : gpts) {
      GptTrain run(g.config, g.batch, uint64_t(args.seed));
      const Timing t = time_gpu([&] { run.step(); }, int(args.samples), min_seconds);
      const double tokens = double(g.batch * g.config.context);
      const std::optional<double> rs = ref.ok ? ref.seconds(g.name) : std::nullopt;
      record(g.name, "tokens_per_s", tokens / t.median, "tokens/s", rs ? ref.label : "", rs ? tokens / *rs : 0);
    }
    std::printf("%s", table.str().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu: %s\n", e.what());
    return 1;
  }
}
