// build/bench/models: training and inference throughput of gradlab's three
// reference models against PyTorch (bench/pytorch/models.py, the same
// configurations), measured in the same run:
//   gpt_train   GPT V64 T64 D128 H4 L2 B32, cross-entropy, AdamW lr 3e-4   (tokens/s)
//   gpt_infer   the same GPT, forward only                                (tokens/s)
//   gpt_generate_b1, gpt_generate_b32  the same GPT decoding greedily with its
//               key/value cache: an 8-token prompt, 56 new tokens per row, batch
//               1 or 32                                                   (new tokens/s)
//   mlp_train   MLP 64-256-256-64 ReLU, batch 256, MSE, Adam               (steps/s)
//   ppo_update  actor 4-64-64-2 and critic 4-64-64-1 tanh, minibatch 2048,
//               clipped surrogate, value loss, entropy bonus, grad clip 0.5, Adam (updates/s)
// Each JSONL record also gives the caching allocator's blocks per call and the
// share of them served from its cache (allocations_per_call, cache_hit_rate).
//   build/bench/models --threads 1 --jsonl out.jsonl
#include <fmt/format.h>

#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "nn/gpt.h"
#include "tensor/allocator.h"
#include "tensor/backend.h"
#include "optim/adam.h"
#include "optim/clip.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

struct Case {
  std::string name, metric, unit;
  double work_per_call;  // tokens or steps
  std::function<void()> fn;
};

// A module's parameters after moving it to `device` (drawn on the CPU: the
// same weights on every device), for the optimisers' initialisers below.
std::vector<Var> parameters_on(nn::Module& m, Device device) {
  m.to(device);
  return m.parameters();
}

// The GPT cases share one model.
struct GptCase {
  GptCase(uint64_t seed, int64_t batch, Device device)
      : gen(seed),
        model({.vocab = 64, .context = 64, .d_model = 128, .heads = 4, .layers = 2}, gen),
        opt(parameters_on(model, device), {.lr = 3e-4}),
        idx(randint(0, 64, {batch, 64}, gen, DType::i64, device)),
        target(randint(0, 64, {batch, 64}, gen, DType::i64, device)) {}
  void train() {
    const Var loss = cross_entropy(model(idx), target);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  void infer() {
    NoGradGuard guard;
    model(idx);
  }
  // Greedy KV-cached decoding of kGenerated tokens after the first kPrompt tokens of `rows` rows.
  static constexpr int64_t kPrompt = 8, kGenerated = 56;
  void generate(int64_t rows) {
    const Tensor prompt = idx.narrow(0, 0, rows).narrow(1, 0, kPrompt).contiguous();
    model.generate(prompt, kGenerated, gen, {.greedy = true});
  }
  Generator gen;
  nn::GPT model;
  optim::AdamW opt;
  Tensor idx, target;
};

struct MlpCase {
  MlpCase(uint64_t seed, Device device)
      : gen(seed),
        model({64, 256, 256, 64}, gen, {.activation = nn::Activation::relu}),
        opt(parameters_on(model, device), {.lr = 1e-3}),
        x(randn({256, 64}, gen, DType::f32, device)),
        y(randn({256, 64}, gen, DType::f32, device)) {}
  void step() {
    const Var loss = mse(model(Var(x)), Var(y));
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  Generator gen;
  nn::MLP model;
  optim::Adam opt;
  Tensor x, y;
};

// PPO's update, exactly as bench/pytorch/models.py writes it.
struct PpoCase {
  static std::vector<Var> both(nn::MLP& a, nn::MLP& c, Device device) {
    std::vector<Var> p = parameters_on(a, device);
    for (const Var& v : parameters_on(c, device)) p.push_back(v);
    return p;
  }
  PpoCase(uint64_t seed, Device device)
      : gen(seed),
        actor({4, 64, 64, 2}, gen, {.activation = nn::Activation::tanh}),
        critic({4, 64, 64, 1}, gen, {.activation = nn::Activation::tanh}),
        params(both(actor, critic, device)),
        opt(params, {.lr = 3e-4, .eps = 1e-5}),
        obs(randn({2048, 4}, gen, DType::f32, device)),
        actions(randint(0, 2, {2048, 1}, gen, DType::i64, device)),
        advantages(randn({2048}, gen, DType::f32, device)),
        returns(randn({2048}, gen, DType::f32, device)) {
    old_logp = gather(log_softmax(randn({2048, 2}, gen, DType::f32, device), -1), 1, actions).squeeze(1);
  }
  void update() {
    const Var logp_all = log_softmax(actor(Var(obs)), -1);
    const Var logp = squeeze(gather(logp_all, 1, actions), 1);
    const Var entropy_bonus = mean(-sum(exp(logp_all) * logp_all, {-1}));
    const Tensor adv = div(sub(advantages, mean(advantages)), add(sqrt(var(advantages)), 1e-8));
    const Var ratio = exp(logp - Var(old_logp));
    const Var pg_loss = mean(maximum(-Var(adv) * ratio, -Var(adv) * clamp(ratio, 0.8, 1.2)));
    const Var v_loss = 0.5 * mean(square(squeeze(critic(Var(obs)), 1) - Var(returns)));
    const Var loss = pg_loss + v_loss - 0.01 * entropy_bonus;
    opt.zero_grad();
    loss.backward();
    optim::clip_grad_norm(params, 0.5);
    opt.step();
  }
  Generator gen;
  nn::MLP actor, critic;
  std::vector<Var> params;
  optim::Adam opt;
  Tensor obs, actions, advantages, returns, old_logp;
};

struct Args {
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t samples = 6;
  std::string cases = "gpt_train,gpt_infer,gpt_generate_b1,gpt_generate_b32,mlp_train,ppo_update";
  std::string jsonl;
  bool no_reference = false;
  bool smoke = false;
  Device device = Device::cpu;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("models", "Training and inference throughput of the reference models against PyTorch, in one run.");
  Args args;
  cli.bind(args.threads, "--threads", "OpenMP threads (both for gradlab and PyTorch)", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for weights and data", {0, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per case (half before, half after the reference)", {1, INT64_MAX});
  cli.bind(args.cases, "--cases", "cases to run");
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.no_reference, "--no-reference", "skip the PyTorch reference");
  cli.bind_flag(args.smoke, "--smoke", "one call of each case at a tiny batch (no reference)");
  cli.bind(args.device, "--device", "where the models and data live: cpu, cuda or ref");
  cli.parse(argc, argv);
  try {
    GL_CHECK(args.threads >= 1, "--threads: must be >= 1, got {}", args.threads);
    set_num_threads(int(args.threads));
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    if (args.smoke) args.no_reference = true;
    const std::vector<std::string> names = split_list(args.cases);
    GptCase gpt(uint64_t(args.seed), args.smoke ? 2 : 32, args.device);
    MlpCase mlp{uint64_t(args.seed), args.device};
    PpoCase ppo{uint64_t(args.seed), args.device};
    std::vector<Case> cases;
    for (const std::string& n : names) {
      if (n == "gpt_train")
        cases.push_back({n, "tokens_per_s", "tokens/s", double(gpt.idx.numel()), [&] { gpt.train(); }});
      else if (n == "gpt_infer")
        cases.push_back({n, "tokens_per_s", "tokens/s", double(gpt.idx.numel()), [&] { gpt.infer(); }});
      else if (n == "gpt_generate_b1" || n == "gpt_generate_b32") {
        const int64_t rows = std::min<int64_t>(n == "gpt_generate_b1" ? 1 : 32, gpt.idx.size(0));
        cases.push_back({n, "tokens_per_s", "tokens/s", double(rows * GptCase::kGenerated),
                         [&gpt, rows] { gpt.generate(rows); }});
      } else if (n == "mlp_train")
        cases.push_back({n, "steps_per_s", "steps/s", 1.0, [&] { mlp.step(); }});
      else if (n == "ppo_update")
        cases.push_back({n, "steps_per_s", "updates/s", 1.0, [&] { ppo.update(); }});
      else
        fail("--cases: unknown case '{}' (gpt_train, gpt_infer, gpt_generate_b1, gpt_generate_b32, mlp_train, "
             "ppo_update)",
             n);
    }
    if (args.device != Device::cpu)  // a timed call ends when its device's queue is done
      for (Case& c : cases) c.fn = [fn = c.fn, sync = backend(args.device).synchronize] {
        fn();
        if (sync) sync();
      };
    std::printf("models: %lld thread(s)\n", (long long)args.threads);
    const int half = std::max(1, int(args.samples + 1) / 2);
    const double min_sample = args.smoke ? 0.0 : 0.2;
    auto time_all = [&] {
      std::vector<Timing> ts;
      for (const Case& c : cases) ts.push_back(time_it(c.fn, half, min_sample, args.smoke ? 0 : 2));
      return ts;
    };
    const std::vector<Timing> before = time_all();
    Reference ref;
    if (!args.no_reference) {
      ref = run_reference("bench/pytorch/models.py",
                          fmt::format("--threads {} --cases {} --samples {}", args.threads, join(names), args.samples),
                          int(args.threads));
      if (!ref.ok) std::printf("PyTorch reference skipped: %s (make bench-deps)\n", ref.why.c_str());
    }
    const std::vector<Timing> after = args.no_reference ? before : time_all();

    Jsonl out(args.jsonl);
    Table table({"case", "rate", "unit", "min-max", ref.ok ? ref.label : "pytorch", "ratio"});
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      const Timing t = args.no_reference ? before[i] : merge(before[i], after[i]);
      const double rate = c.work_per_call / t.median;
      std::vector<std::string> row = {c.name, fmt::format("{:.0f}", rate), c.unit,
                                      fmt::format("{:.0f}-{:.0f}", c.work_per_call / t.max, c.work_per_call / t.min)};
      Jsonl::Record rec{.bench = "models",
                        .case_name = c.name,
                        .metric = c.metric,
                        .value = rate,
                        .unit = c.unit,
                        .threads = int(args.threads)};
      if (args.device != Device::cpu) rec.extra["device"] = std::string(device_name(args.device));
      // The caching allocator over one more call: blocks handed out, and the share served from its cache.
      const MemoryStats m0 = memory_stats(args.device);
      c.fn();
      const MemoryStats m1 = memory_stats(args.device);
      const int64_t allocations = m1.allocations - m0.allocations;
      rec.numbers["allocations_per_call"] = double(allocations);
      rec.numbers["cache_hit_rate"] = allocations > 0 ? double(m1.cache_hits - m0.cache_hits) / double(allocations) : 1.0;
      const std::optional<double> ref_seconds = ref.seconds(c.name);
      add_comparison(row, rec, rate, ref_seconds ? std::optional(c.work_per_call / *ref_seconds) : std::nullopt,
                     ref.label);
      out.write(rec);
      table.row(row);
    }
    std::fputs(table.str().c_str(), stdout);
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "models: %s\n", e.what());
    return 1;
  }
  return 0;
}
