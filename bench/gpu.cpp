// build/bench/gpu: the CUDA backend's figures, each against its reference in
// the same run on the same GPU:
//   gemm_cublas      f32 GEMM n x n x n through matmul (cuBLAS), GFLOP/s
//   gemm_tiled       the hand-written tiled kernel (tensor/cuda/tiled_gemm.cu), as % of cuBLAS
//   elementwise_add  c = a + b (allocating), GB/s, against the device's copy bandwidth (clone)
//   gpt_train_small  GPT V64 T64 D128 H4 L2 B32 AdamW step, tokens/s, against PyTorch
//   gpt_train_gpt2s  GPT V50257 T1024 D768 H12 L12 B8 AdamW step, tokens/s, against PyTorch
//   gpt_train_gpt2s_tf32   the same with TF32 tensor cores (GEMMs, flash attention), against PyTorch with TF32
//   gpt_train_gpt2s_bf16   the same with bf16 tensor cores (f32 tensors, bf16 products), against PyTorch
//                          autocast to bf16
//   gpt_train_gpt2s_amp    mixed precision with bf16 storage: GPTConfig::matmul_dtype = bf16 (bf16
//                          copies of the Linear layers' inputs and weights, f32 master weights) and
//                          bf16 tensor cores in attention, against the same PyTorch autocast run
//   attention_fwd    causal attention B8 H12 T1024 D64 (GPT-2 small's), GFLOP/s of the scalar reference
//                    kernels against PyTorch's scaled_dot_product_attention (f32), then of the flash
//                    kernels in f32, TF32 and bf16 against the reference kernels
//   attention_bwd    the same for forward + backward
//   mlp_train_small_graph  a small MLP SGD step (launch-bound), replayed from a CUDA graph, steps/s
//                    against the same step run eagerly
//   gpt_train_small_graph  the small GPT step replayed from a CUDA graph against eager (the step
//                    copies nothing between host and GPU: its checks are deferred; should an op copy,
//                    the capture fails and the case says why and records nothing)
// PyTorch runs bench/pytorch/gpu_models.py with the same configs on the same GPU.
// TF32 is off on both sides unless --tf32 (or a case says otherwise). Without a
// GPU it prints why and exits 0.
//   build/bench/gpu --jsonl bench/results/gpu/gpu.jsonl
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "nn/gpt.h"
#include "optim/adam.h"
#include "nn/linear.h"
#include "optim/sgd.h"
#include "tensor/cuda/graph.h"
#include "tensor/cuda/tiled_gemm.h"
#include "tensor/device.h"
#include "tensor/fused_layers.h"
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
  bool tf32 = false, bf16 = false;  // the precision switches while this case runs
  std::string reference = name;     // the PyTorch case it is measured against
};

std::vector<Var> to_cuda(nn::Module& m);

// A small MLP (64 -> 256 -> 256 -> 64, ReLU) SGD step on CUDA: a few dozen
// small kernels, so the host's launch cost is most of its time.
struct MlpTrain {
  explicit MlpTrain(uint64_t seed)
      : gen(seed),
        l1(64, 256, gen),
        l2(256, 256, gen),
        l3(256, 64, gen),
        opt(params(), {.lr = 1e-2}),
        x(randn({128, 64}, gen).to(Device::cuda)),
        y(randn({128, 64}, gen).to(Device::cuda)) {}
  std::vector<Var> params() {
    std::vector<Var> p;
    for (nn::Linear* l : {&l1, &l2, &l3})
      for (const Var& v : to_cuda(*l)) p.push_back(v);
    return p;
  }
  void step() {
    opt.zero_grad();
    const Var loss = mse(l3(relu(l2(relu(l1(Var(x)))))), Var(y));
    loss.backward();
    opt.step();
  }
  Generator gen;
  nn::Linear l1, l2, l3;
  optim::SGD opt;
  Tensor x, y;
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
  std::string cases =
      "gemm_cublas,gemm_tiled,elementwise_add,attention_fwd,attention_bwd,mlp_train_small_graph,"
      "gpt_train_small,gpt_train_small_graph,gpt_train_gpt2s,gpt_train_gpt2s_tf32,gpt_train_gpt2s_bf16,"
      "gpt_train_gpt2s_amp";
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
      r.extra["tf32"] = cuda_tf32_allowed() ? "on" : "off";
      r.extra["bf16"] = cuda_bf16_allowed() ? "on" : "off";
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
    // The PyTorch reference, in one run for every case that has one.
    Reference ref;
    std::vector<GptConfigCase> gpts;
    std::vector<std::string> ref_cases;
    for (const char* c : {"attention_fwd", "attention_bwd"})
      if (wants(c)) ref_cases.push_back(c);
    if (wants("gpt_train_small"))
      gpts.push_back({"gpt_train_small", {.vocab = 64, .context = 64, .d_model = 128, .heads = 4, .layers = 2}, 32});
    if (wants("gpt_train_small_graph") && !wants("gpt_train_small"))
      gpts.push_back({"gpt_train_small", {.vocab = 64, .context = 64, .d_model = 128, .heads = 4, .layers = 2}, 32});
    if (wants("gpt_train_gpt2s"))
      gpts.push_back(
          {"gpt_train_gpt2s", {.vocab = 50257, .context = 1024, .d_model = 768, .heads = 12, .layers = 12}, 8});
    for (const bool bf16 : {false, true}) {
      const std::string name = bf16 ? "gpt_train_gpt2s_bf16" : "gpt_train_gpt2s_tf32";
      if (wants(name))
        gpts.push_back({name,
                        {.vocab = 50257, .context = 1024, .d_model = 768, .heads = 12, .layers = 12},
                        8,
                        !bf16,
                        bf16});
    }
    if (wants("gpt_train_gpt2s_amp")) {
      nn::GPTConfig amp{.vocab = 50257, .context = 1024, .d_model = 768, .heads = 12, .layers = 12};
      amp.matmul_dtype = DType::bf16;
      gpts.push_back({"gpt_train_gpt2s_amp", amp, 8, false, true, "gpt_train_gpt2s_bf16"});
    }
    if (args.smoke)
      for (auto& g : gpts)
        g.config.context = 16, g.config.layers = 1, g.config.vocab = 64, g.config.d_model = 64, g.config.heads = 2,
        g.batch = 2;
    for (const auto& g : gpts)
      if (std::find(ref_cases.begin(), ref_cases.end(), g.reference) == ref_cases.end())
        ref_cases.push_back(g.reference);
    if (!ref_cases.empty() && !args.no_reference) {
      std::string names;
      for (const auto& c : ref_cases) names += (names.empty() ? "" : ",") + c;
      ref = run_reference("bench/pytorch/gpu_models.py",
                          fmt::format("--cases {} --samples {}{}", names, args.samples, args.tf32 ? " --tf32" : ""), 1);
      if (!ref.ok) std::printf("PyTorch reference unavailable: %s\n", ref.why.c_str());
    }
    for (const bool backward : {false, true}) {
      const std::string name = backward ? "attention_bwd" : "attention_fwd";
      if (!wants(name)) continue;
      const int64_t B = args.smoke ? 1 : 8, H = args.smoke ? 2 : 12, T = args.smoke ? 100 : 1024, D = 64;
      const Tensor q = randn({B, H, T, D}, gen, DType::f32, Device::cuda),
                   k = randn({B, H, T, D}, gen, DType::f32, Device::cuda),
                   v = randn({B, H, T, D}, gen, DType::f32, Device::cuda),
                   dout = randn({B, H, T, D}, gen, DType::f32, Device::cuda);
      // Causal: half of the 2 T^2 D multiply-adds of QK^T and PV; the backward adds 2.5x that.
      const double flops = 2.0 * double(B * H) * double(T) * double(T) * double(D) * (backward ? 3.5 : 1.0);
      auto run = [&] {
        const AttentionForward f = attention_forward(q, k, v, true);
        if (backward) (void)attention_backward(dout, q, k, v, f.out, f.lse, true);
      };
      const bool tf32_was = cuda_tf32_allowed(), bf16_was = cuda_bf16_allowed();
      cuda_set_attention_kernel(CudaAttentionKernel::reference);
      cuda_allow_tf32(false);
      cuda_allow_bf16(false);
      const double ref_gflops = flops / time_gpu(run, int(args.samples), min_seconds).median / 1e9;
      const std::optional<double> rs = ref.ok ? ref.seconds(name) : std::nullopt;
      record(name, "gflops_reference", ref_gflops, "GFLOP/s", rs ? ref.label + "-sdpa-f32" : "",
             rs ? flops / *rs / 1e9 : 0);
      cuda_set_attention_kernel(CudaAttentionKernel::flash);
      for (const char* precision : {"f32", "tf32", "bf16"}) {
        cuda_allow_tf32(std::string(precision) == "tf32");
        cuda_allow_bf16(std::string(precision) == "bf16");
        const double g = flops / time_gpu(run, int(args.samples), min_seconds).median / 1e9;
        record(name, fmt::format("gflops_flash_{}", precision), g, "GFLOP/s", "cuda-reference-kernels", ref_gflops);
      }
      cuda_allow_tf32(tf32_was);
      cuda_allow_bf16(bf16_was);
    }
    if (wants("mlp_train_small_graph")) {
      MlpTrain eager(uint64_t(args.seed)), graphed(uint64_t(args.seed));
      const double eager_steps = 1.0 / time_gpu([&] { eager.step(); }, int(args.samples), min_seconds).median;
      graphed.step();  // warms the caching allocator: capture may not ask CUDA for memory
      CudaGraph graph;
      graph.capture([&] { graphed.step(); });
      const double graph_steps = 1.0 / time_gpu([&] { graph.replay(); }, int(args.samples), min_seconds).median;
      record("mlp_train_small_graph", "steps_per_s", graph_steps, "steps/s", "eager", eager_steps);
    }
    for (const auto& g : gpts) {
      const bool tf32_was = cuda_tf32_allowed(), bf16_was = cuda_bf16_allowed();
      if (g.tf32) cuda_allow_tf32(true);
      if (g.bf16) cuda_allow_bf16(true);
      GptTrain run(g.config, g.batch, uint64_t(args.seed));
      const Timing t = time_gpu([&] { run.step(); }, int(args.samples), min_seconds);
      const double tokens = double(g.batch * g.config.context);
      const std::optional<double> rs = ref.ok ? ref.seconds(g.reference) : std::nullopt;
      record(g.name, "tokens_per_s", tokens / t.median, "tokens/s", rs ? ref.label : "", rs ? tokens / *rs : 0);
      if (g.name == "gpt_train_small" && wants("gpt_train_small_graph")) {
        CudaGraph graph;
        try {
          graph.capture([&] { run.step(); });
        } catch (const Error& e) {
          std::printf("gpt_train_small_graph: not measured: the step cannot be captured: %s\n", e.what());
        }
        if (graph.captured()) {
          // Adam's step count is frozen at capture: every replay repeats one step's bias correction.
          const Timing tg = time_gpu([&] { graph.replay(); }, int(args.samples), min_seconds);
          record("gpt_train_small_graph", "tokens_per_s", tokens / tg.median, "tokens/s", "eager", tokens / t.median);
        }
      }
      cuda_allow_tf32(tf32_was);
      cuda_allow_bf16(bf16_was);
    }
    std::printf("%s", table.str().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu: %s\n", e.what());
    return 1;
  }
}
