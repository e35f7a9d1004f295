// build/bench/gpt2_cpu: one AdamW training step of GPT-2 small (124M
// parameters) on the CPU in f32: vocabulary 50257, context 1024, d_model 768,
// 12 heads, 12 layers, tied embeddings, tanh-approximate GELU, on a batch of
// B = 4 random sequences of T = 64 tokens. Reports milliseconds per step (the
// median of --steps steps after --warmup), the step split into forward,
// backward and optimiser (gradient clipping and AdamW), the achieved GFLOP/s,
// its share of the machine's measured FMA peak, and gradlab's own SGEMM rate
// at the model's MLP shape measured in the same binary, so that the step can
// be read against the best its matmuls could do. --matmul-dtype bf16 times
// the same step in mixed precision (GPTConfig::matmul_dtype: the Linear
// layers' and the head's products on bf16 copies, f32 master weights); its
// GFLOP/s still count the f32 FMA peak, which bf16 dot products can pass.
//   build/bench/gpt2_cpu --threads 2 --jsonl out.jsonl
//
// FLOPs per step (the usual convention: a multiply-add is 2 FLOPs; backward
// costs twice the forward; the causal mask is not credited, i.e. attention is
// counted over the full T x T square):
//   flops = 6 * N * B * T + 12 * L * T^2 * d * B
//   N = 12 * L * d^2 + V * d   (the matmul weights: qkv 3d^2, projection d^2,
//                               MLP 8d^2 per layer, and the tied head V d;
//                               biases, LayerNorms and embedding lookups left out)
// For GPT-2 small at B = 4, T = 64: N = 123.5M, flops = 189.7 + 1.8 GFLOP.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "nn/gpt.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/ops.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Args {
  int64_t batch = 4;
  int64_t seq = 64;
  int64_t vocab = 50257;
  int64_t context = 1024;
  int64_t d_model = 768;
  int64_t heads = 12;
  int64_t layers = 12;
  int64_t steps = 5;
  int64_t warmup = 1;
  int64_t threads = 1;
  int64_t seed = 0;
  std::string jsonl;
  std::string matmul_dtype = "f32";
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("gpt2_cpu", "One AdamW training step of GPT-2 small (124M, tied, tanh GELU) on the CPU: ms/step, GFLOP/s, "
                      "share of the FMA peak and of gradlab's SGEMM rate.");
  Args args;
  cli.bind(args.batch, "--batch", "sequences per step", {1, 65536});
  cli.bind(args.seq, "--seq", "tokens per sequence", {1, 65536});
  cli.bind(args.vocab, "--vocab", "vocabulary", {1, INT64_MAX});
  cli.bind(args.context, "--context", "the model's context (position embeddings)", {1, 65536});
  cli.bind(args.d_model, "--d-model", "model width", {1, 65536});
  cli.bind(args.heads, "--heads", "attention heads", {1, 4096});
  cli.bind(args.layers, "--layers", "transformer blocks", {1, 4096});
  cli.bind(args.steps, "--steps", "timed steps (the median is reported)", {1, INT64_MAX});
  cli.bind(args.warmup, "--warmup", "untimed steps first", {0, INT64_MAX});
  cli.bind(args.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the weights and the random tokens", {0, INT64_MAX});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind(args.matmul_dtype, "--matmul-dtype",
           "f32, or bf16 for mixed precision: the Linear layers' products on bf16 copies, f32 master weights");
  cli.bind_flag(args.smoke, "--smoke", "a tiny model and two steps, to check that the binary works (no FMA peak)");
  cli.parse(argc, argv);
  try {
    args.vocab = cli.budget_default<int64_t>(args.smoke, "--vocab", args.vocab, 97);
    args.context = cli.budget_default<int64_t>(args.smoke, "--context", args.context, 32);
    args.d_model = cli.budget_default<int64_t>(args.smoke, "--d-model", args.d_model, 32);
    args.heads = cli.budget_default<int64_t>(args.smoke, "--heads", args.heads, 2);
    args.layers = cli.budget_default<int64_t>(args.smoke, "--layers", args.layers, 2);
    args.batch = cli.budget_default<int64_t>(args.smoke, "--batch", args.batch, 2);
    args.seq = cli.budget_default<int64_t>(args.smoke, "--seq", args.seq, 16);
    args.steps = cli.budget_default<int64_t>(args.smoke, "--steps", args.steps, 2);
    args.warmup = cli.budget_default<int64_t>(args.smoke, "--warmup", args.warmup, 0);
    GL_CHECK(args.seq <= args.context, "gpt2_cpu: --seq {} exceeds --context {}", args.seq, args.context);
    GL_CHECK(args.d_model % args.heads == 0, "gpt2_cpu: --heads {} does not divide --d-model {}", args.heads,
             args.d_model);
    GL_CHECK(args.matmul_dtype == "f32" || args.matmul_dtype == "bf16",
             "gpt2_cpu: --matmul-dtype must be f32 or bf16, got '{}'", args.matmul_dtype);
    const bool mixed = args.matmul_dtype == "bf16";
    set_num_threads(int(args.threads));

    Generator gen{uint64_t(args.seed)};
    const nn::GPTConfig config{.vocab = args.vocab,
                               .context = args.context,
                               .d_model = args.d_model,
                               .heads = args.heads,
                               .layers = args.layers,
                               .seed = uint64_t(args.seed),
                               .tie_embeddings = true,
                               .gelu_tanh = true,
                               .matmul_dtype = mixed ? std::optional<DType>(DType::bf16) : std::nullopt};
    nn::GPT model(config, gen);
    optim::AdamW opt(model.parameters(), {.lr = 6e-4, .weight_decay = 0.1});
    const Tensor idx = randint(0, args.vocab, {args.batch, args.seq}, gen),
                 target = randint(0, args.vocab, {args.batch, args.seq}, gen);

    const double L = double(args.layers), d = double(args.d_model), V = double(args.vocab), T = double(args.seq),
                 B = double(args.batch);
    const double n_matmul = 12 * L * d * d + V * d;
    const double flops = 6 * n_matmul * B * T + 12 * L * T * T * d * B;
    // The peak is measured here and again after the steps, and the higher
    // figure kept: other work on a shared machine only ever lowers it.
    double peak = args.smoke ? 0 : measured_fma_peak_gflops(int(args.threads));
    std::printf(
        "gpt2_cpu: V%lld ctx%lld d%lld H%lld L%lld, tied, tanh GELU, B%lld T%lld f32%s; %lld parameters "
        "(%.1fM in matmuls); %.2f GFLOP/step; %lld thread(s), micro-kernel %s, %s\n",
        (long long)args.vocab, (long long)args.context, (long long)args.d_model, (long long)args.heads,
        (long long)args.layers, (long long)args.batch, (long long)args.seq, mixed ? " with bf16 products" : "",
        (long long)model.parameter_count(), n_matmul / 1e6, flops / 1e9, (long long)args.threads,
        mixed ? fmt::format("{} (bf16 products: {})", cpu::gemm_isa(),
                            cpu::gemm_bf16_available() ? "avx512-bf16" : "f32 on widened operands")
                    .c_str()
              : cpu::gemm_isa(),
        peak > 0 ? fmt::format("measured FMA peak {:.0f} GFLOP/s (before the steps)", peak).c_str()
                 : "FMA peak not measured");
    std::fflush(stdout);

    // The training step, timed in its three parts.
    std::vector<double> fwd, bwd, upd, total;
    double last_loss = 0;
    for (int64_t s = 0; s < args.warmup + args.steps; ++s) {
      model.train();
      const double t0 = now();
      const Var loss = cross_entropy(model(idx), target);
      last_loss = loss.item();  // forces the forward to finish
      const double t1 = now();
      opt.zero_grad();
      loss.backward();
      const double t2 = now();
      optim::clip_grad_norm(opt.params(), 1.0);
      opt.step();
      const double t3 = now();
      GL_CHECK(std::isfinite(last_loss), "gpt2_cpu: the loss is {} at step {}", last_loss, s + 1);
      if (s >= args.warmup) {
        fwd.push_back(t1 - t0), bwd.push_back(t2 - t1), upd.push_back(t3 - t2), total.push_back(t3 - t0);
        std::printf("step %lld: %.0f ms (forward %.0f, backward %.0f, optimiser %.0f), loss %.3f\n",
                    (long long)(s - args.warmup + 1), 1e3 * (t3 - t0), 1e3 * (t1 - t0), 1e3 * (t2 - t1),
                    1e3 * (t3 - t2), last_loss);
        std::fflush(stdout);
      }
    }
    if (!args.smoke) peak = std::max(peak, measured_fma_peak_gflops(int(args.threads)));
    const double step_s = median(total);
    const double gflops = flops / step_s / 1e9;

    // gradlab's SGEMM at the MLP's up projection, [B*T, d] @ [d, 4d], the
    // shape that carries most of the step's matmul FLOPs outside the head.
    const int64_t M = args.batch * args.seq, K = args.d_model, N = 4 * args.d_model;
    const Tensor a = randn({M, K}, gen), b = randn({K, N}, gen);
    const Timing g = time_it([&] { matmul(a, b); }, args.smoke ? 1 : 7, args.smoke ? 0.0 : 0.05, args.smoke ? 0 : 2);
    const double gemm_gflops = 2.0 * double(M) * double(K) * double(N) / g.median / 1e9;
    const std::string gemm_case = fmt::format("{}x{}x{}", M, K, N);

    Table table({"threads", "ms/step", "forward", "backward", "optimiser", "GFLOP/s", "% peak",
                 "SGEMM " + gemm_case, "step/SGEMM"});
    table.row({std::to_string(args.threads), fmt::format("{:.0f}", 1e3 * step_s),
               fmt::format("{:.0f}", 1e3 * median(fwd)), fmt::format("{:.0f}", 1e3 * median(bwd)),
               fmt::format("{:.0f}", 1e3 * median(upd)), fmt::format("{:.1f}", gflops),
               peak > 0 ? fmt::format("{:.0f}%", 100 * gflops / peak) : "-", fmt::format("{:.1f}", gemm_gflops),
               fmt::format("{:.0f}%", 100 * gflops / gemm_gflops)});
    std::fputs(table.str().c_str(), stdout);
    if (peak > 0) std::printf("FMA peak (the higher of before and after the steps): %.0f GFLOP/s\n", peak);

    Jsonl out(args.jsonl);
    const std::string case_name = (args.smoke ? "smoke" : fmt::format("gpt2_124m_B{}_T{}", args.batch, args.seq)) +
                                  (mixed ? "_bf16" : "");
    auto record = [&](const std::string& metric, double value, const std::string& unit) {
      Jsonl::Record r{.bench = "gpt2_cpu",
                      .case_name = case_name,
                      .metric = metric,
                      .value = value,
                      .unit = unit,
                      .threads = int(args.threads)};
      r.numbers["gflop_per_step"] = flops / 1e9;
      out.write(r);
    };
    record("ms_per_step", 1e3 * step_s, "ms");
    record("ms_forward", 1e3 * median(fwd), "ms");
    record("ms_backward", 1e3 * median(bwd), "ms");
    record("ms_optimizer", 1e3 * median(upd), "ms");
    record("gflops", gflops, "GFLOP/s");
    if (peak > 0) record("peak_fraction", gflops / peak, "fraction");
    Jsonl::Record gemm_rec{.bench = "gpt2_cpu",
                           .case_name = gemm_case,
                           .metric = "sgemm_gflops",
                           .value = gemm_gflops,
                           .unit = "GFLOP/s",
                           .threads = int(args.threads)};
    out.write(gemm_rec);
    record("sgemm_fraction", gflops / gemm_gflops, "fraction");
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "gpt2_cpu: %s\n", e.what());
    return 1;
  }
  return 0;
}
