// build/bench/dynamics: speed of the MOPO/ORPO dynamics ensemble
// (algorithms/rl/offline/dynamics_ensemble.h) against PyTorch running the same
// ensemble (bench/pytorch/dynamics.py), measured in the same run:
//   train_step  one Adam step of the full loss (ORPO.2: Gaussian NLL with the
//               soft log-variance bounds, per-layer weight decay, bound
//               penalty) on a [7, 256, obs + act] batch, 4 x 200 Swish  (steps/s)
//   model_step  DynamicsEnsemble::step on --states states: every member's
//               forward, one sampled elite per row, the aleatoric uncertainty (steps/s);
//               PyTorch runs it in the same pieces of 8192 rows as predict(), and
//               is also shown with all rows in one forward (model_step_one_batch)
// Pendulum-like dims by default (obs 3, act 1). With --device cuda or ref the
// ensemble trains and steps on that device (each timed call ends with the
// device's queue drained); the PyTorch reference runs on the CPU only, so it
// is left out there.
//   build/bench/dynamics --threads 1 --jsonl out.jsonl
//   build/bench/dynamics --device cuda
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "autograd/ops.h"
#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "optim/adam.h"
#include "tensor/backend.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

const char* const kCases[] = {"train_step", "model_step"};

// A dataset of `rows` random transitions (only its statistics matter: train()
// with max_epochs 1 fits the standardisation on it).
envs::Dataset random_dataset(int64_t rows, int64_t obs, int64_t act, Generator& gen) {
  envs::Dataset d;
  d.observations = randn({rows, obs}, gen);
  d.actions = uniform({rows, act}, -2, 2, gen);
  d.next_observations = d.observations + randn({rows, obs}, gen) * 0.1;
  d.rewards = randn({rows}, gen);
  return d;
}

struct Args {
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t obs = 3;
  int64_t act = 1;
  int64_t width = 200;
  int64_t batch = 256;
  int64_t states = 50000;
  int64_t samples = 7;
  std::string jsonl;
  bool no_reference = false;
  bool smoke = false;
  Device device = Device::cpu;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("dynamics", "Dynamics-ensemble training step and 50k-state model step, in steps/s, against PyTorch.");
  Args args;
  cli.bind(args.threads, "--threads", "OpenMP threads (both for gradlab and PyTorch)", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the weights and the data", {0, INT64_MAX});
  cli.bind(args.obs, "--obs", "observation dims", {1, 4096});
  cli.bind(args.act, "--act", "action dims", {1, 4096});
  cli.bind(args.width, "--width", "hidden width (4 hidden layers)", {1, 65536});
  cli.bind(args.batch, "--batch", "rows per member in a training batch", {1, 1 << 20});
  cli.bind(args.states, "--states", "states in a model step", {1, 1 << 24});
  cli.bind(args.samples, "--samples", "timed samples per case", {1, INT64_MAX});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.no_reference, "--no-reference", "skip the PyTorch reference");
  cli.bind_flag(args.smoke, "--smoke",
                "a tiny run to check that the binary works (width 16, 500 states, no reference)");
  cli.bind(args.device, "--device",
           "where the ensemble trains and steps (the PyTorch reference is the CPU's only: skipped on another device)");
  cli.parse(argc, argv);
  try {
    const bool on_cpu = args.device == Device::cpu;
    args.width = cli.budget_default<int64_t>(args.smoke, "--width", args.width, 16);
    args.states = cli.budget_default<int64_t>(args.smoke, "--states", args.states, 500);
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    if (args.smoke || !on_cpu) args.no_reference = true;
    set_num_threads(int(args.threads));
    const int64_t members = 7;
    std::printf(
        "dynamics: %lld members of %lld-%lld x 4-%lld Swish, batch [%lld, %lld, %lld], %lld states, %lld thread(s)%s\n",
        (long long)members, (long long)(args.obs + args.act), (long long)args.width, (long long)(2 * (args.obs + 1)),
        (long long)members, (long long)args.batch, (long long)(args.obs + args.act), (long long)args.states,
        (long long)args.threads, on_cpu ? "" : fmt::format(", on {}", device_name(args.device)).c_str());

    rl::DynamicsEnsembleOptions options;
    options.members = members;
    options.hidden = {args.width, args.width, args.width, args.width};
    options.batch_size = args.batch;
    options.max_epochs = 1;
    options.device = args.device;
    rl::DynamicsEnsemble ensemble(args.obs, args.act, options, uint64_t(args.seed));
    Generator gen = Generator(uint64_t(args.seed)).fork(1);
    ensemble.train(
        random_dataset(args.smoke ? 300 : 2000, args.obs, args.act, gen));  // the standardisation and the elites

    optim::Adam adam(ensemble.model().parameters(), {.lr = options.lr});
    const Device d = args.device;
    const Tensor xb = randn({members, args.batch, args.obs + args.act}, gen, DType::f32, d),
                 yb = randn({members, args.batch, args.obs + 1}, gen, DType::f32, d);
    const Tensor step_obs = randn({args.states, args.obs}, gen, DType::f32, d),
                 step_act = uniform({args.states, args.act}, -2, 2, gen, DType::f32, d);
    const Backend& be = backend(d);
    std::map<std::string, std::function<void()>> fns = {
        {"train_step",
         [&] {
           const Var loss = ensemble.loss(Var(xb), Var(yb));
           adam.zero_grad();
           loss.backward();
           adam.step();
           be.synchronize();  // a device's queue drained inside the timed region
         }},
        {"model_step",
         [&] {
           ensemble.step(step_obs, step_act, gen);
           be.synchronize();
         }},
    };

    // gradlab is timed before and after the PyTorch run, and the samples
    // pooled, so that a slow spell of a shared machine weighs on both sides.
    const double min_sample = args.smoke ? 0.0 : 0.2;
    const int warmup = args.smoke ? 0 : 2;
    const int half = std::max(1, int(args.samples + 1) / 2);
    auto time_all = [&] {
      std::map<std::string, Timing> ts;
      for (const char* c : kCases) ts[c] = time_it(fns.at(c), half, min_sample, warmup);
      return ts;
    };
    const std::map<std::string, Timing> before = time_all();
    Reference torch;
    if (!args.no_reference) {
      torch = run_reference("bench/pytorch/dynamics.py",
                            fmt::format("--threads {} --seed {} --members {} --obs {} --act {} --hidden {},{},{},{} "
                                        "--batch {} --states {} --samples {} --min-sample-seconds {}",
                                        args.threads, args.seed, members, args.obs, args.act, args.width, args.width,
                                        args.width, args.width, args.batch, args.states, args.samples, min_sample),
                            int(args.threads));
      if (!torch.ok)
        std::printf("PyTorch reference skipped: %s (install python3-torch: make bench-deps)\n", torch.why.c_str());
    }
    const std::map<std::string, Timing> after = args.no_reference ? before : time_all();

    Jsonl out(args.jsonl);
    const std::string ref_name = torch.ok ? torch.label : "pytorch";
    Table table({"case", "steps/s", "min-max", ref_name + " steps/s", "ours/ref"});
    std::map<std::string, double> rates;
    for (const char* c : kCases) {
      const Timing t = args.no_reference ? before.at(c) : merge(before.at(c), after.at(c));
      const double rate = rates[c] = 1.0 / t.median;
      std::vector<std::string> row = {c, fmt::format("{:.1f}", rate),
                                      fmt::format("{:.1f}-{:.1f}", 1.0 / t.max, 1.0 / t.min)};
      Jsonl::Record rec{.bench = "dynamics",
                        .case_name = c,
                        .metric = "steps_per_s",
                        .value = rate,
                        .unit = "steps/s",
                        .threads = int(args.threads)};
      rec.extra["obs"] = std::to_string(args.obs);
      rec.extra["act"] = std::to_string(args.act);
      rec.extra["width"] = std::to_string(args.width);
      rec.extra["batch"] = std::to_string(args.batch);
      rec.extra["states"] = std::to_string(args.states);
      rec.extra["device"] = std::string(device_name(args.device));
      const std::optional<double> ref_seconds = torch.seconds(c);
      add_comparison(row, rec, rate, ref_seconds ? std::optional(1.0 / *ref_seconds) : std::nullopt, torch.label);
      out.write(rec);
      table.row(row);
    }
    std::fputs(table.str().c_str(), stdout);
    if (const std::optional<double> one_batch = torch.seconds("model_step_one_batch")) {
      const double ours = rates.at("model_step");
      std::printf("%s with all %lld states in one forward: %.2f steps/s (ours/ref %.2fx)\n", torch.label.c_str(),
                  (long long)args.states, 1.0 / *one_batch, ours * *one_batch);
      Jsonl::Record rec{.bench = "dynamics",
                        .case_name = "model_step_one_batch",
                        .metric = "steps_per_s",
                        .value = ours,
                        .unit = "steps/s",
                        .threads = int(args.threads)};
      rec.extra["states"] = std::to_string(args.states);
      std::vector<std::string> unused;
      add_comparison(unused, rec, ours, 1.0 / *one_batch, torch.label);
      out.write(rec);
    }
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "dynamics: %s\n", e.what());
    return 1;
  }
  return 0;
}
