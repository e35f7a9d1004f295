// build/bench/rl_throughput: end-to-end RL training throughput (environment
// steps per second: env stepping, acting, replay or rollout storage and every
// network update, the algorithm's real training loop) of gradlab's trainers
// against CleanRL-style PyTorch loops on numpy environments
// (bench/pytorch/rl_throughput.py, the same hyperparameters and network
// sizes), measured in the same run (the runs: bench/rl_timed_runs.h):
//   ppo/CartPole-v1   rl::train_ppo with PPOArgs' defaults (4 envs x 128 steps, 64-64 tanh)
//   sac/Pendulum-v1   rl::train_sac with SACArgs' defaults (2x256, batch 256)
//   td3/Pendulum-v1   rl::train_td3 with TD3Args' defaults (2x256, batch 256)
// only the step budget and, for SAC and TD3, the warm-up of uniformly random
// actions (--learning-starts, CleanRL's 5000 and 25000 would leave a short
// budget without any update) are the bench's. Rates are TrainResult's sps:
// steps over the seconds from the first reset to the end of the last update;
// the final evaluation comes after the clock stops and no evaluation runs
// during training (eval_every 0), as on the PyTorch side. Each case runs
// --runs times, the first half before the reference and the rest after it;
// the rate is all their steps over all their seconds. --device runs
// gradlab's side with its networks and buffers on a device (the envs step on
// the CPU; the reference stays on the CPU), for GPU steps/s against the CPU's:
//   OMP_WAIT_POLICY=PASSIVE build/bench/rl_throughput --threads 2 --jsonl out.jsonl
//   build/bench/rl_throughput --cases ppo,sac --device cuda --no-reference --jsonl out.jsonl
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "bench/rl_timed_runs.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

struct Case {
  std::string key, name;  // "ppo", "ppo/CartPole-v1"
  std::function<rl::TrainResult()> train;
};

struct Runs {
  int64_t steps = 0;
  double seconds = 0, min_sps = 0, max_sps = 0;
  void add(const rl::TrainResult& r) {
    min_sps = steps == 0 ? r.sps : std::min(min_sps, r.sps);
    max_sps = steps == 0 ? r.sps : std::max(max_sps, r.sps);
    steps += r.env_steps;
    seconds += r.seconds;
  }
  double sps() const { return double(steps) / std::max(seconds, 1e-9); }
};

struct Args {
  int64_t threads = 1;
  int64_t seed = 1;
  std::string cases = "ppo,sac,td3";
  int64_t ppo_steps = 50000;
  int64_t offpolicy_steps = 5000;
  int64_t learning_starts = 1000;
  int64_t runs = 2;
  std::string jsonl;
  bool no_reference = false;
  bool smoke = false;
  Device device = Device::cpu;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("rl_throughput",
          "End-to-end training throughput (environment steps/s) of PPO, SAC and TD3 against CleanRL-style PyTorch "
          "loops, in one run.");
  Args args;
  cli.bind(args.threads, "--threads", "OpenMP threads (both for gradlab and PyTorch)", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed of every run (both sides)", {0, INT64_MAX});
  cli.bind(args.cases, "--cases", "cases to run: ppo (CartPole-v1), sac, td3 (Pendulum-v1)");
  cli.bind(args.ppo_steps, "--ppo-steps", "PPO environment steps (whole rollouts of 4 x 128)", {512, INT64_MAX});
  cli.bind(args.offpolicy_steps, "--offpolicy-steps", "SAC and TD3 environment steps", {1, INT64_MAX});
  cli.bind(args.learning_starts, "--learning-starts",
           "SAC and TD3: uniformly random actions, no updates, before this step", {0, INT64_MAX});
  cli.bind(args.runs, "--runs", "gradlab runs per case (half before the reference, half after)", {1, 100});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.no_reference, "--no-reference", "skip the PyTorch reference");
  cli.bind(args.device, "--device",
           "where gradlab's networks, optimiser state and buffers live: cpu, cuda (a CUDA build with a GPU) or ref "
           "(the reference runs on the CPU)");
  cli.bind_flag(args.smoke, "--smoke",
                "one short run per case: 512 PPO steps, 200 SAC/TD3 steps learning from 100 (no reference)");
  cli.parse(argc, argv);
  try {
    set_num_threads(int(args.threads));
    args.ppo_steps = cli.budget_default<int64_t>(args.smoke, "--ppo-steps", args.ppo_steps, 512);
    args.offpolicy_steps = cli.budget_default<int64_t>(args.smoke, "--offpolicy-steps", args.offpolicy_steps, 200);
    args.learning_starts = cli.budget_default<int64_t>(args.smoke, "--learning-starts", args.learning_starts, 100);
    args.runs = cli.budget_default<int64_t>(args.smoke, "--runs", args.runs, 1);
    if (args.smoke) args.no_reference = true;
    GL_CHECK(args.learning_starts < args.offpolicy_steps,
             "--learning-starts {} leaves no update in --offpolicy-steps {}", args.learning_starts,
             args.offpolicy_steps);

    std::vector<Case> cases;
    for (const std::string& k : split_list(args.cases)) {
      const uint64_t seed = uint64_t(args.seed);
      if (k == "ppo") {
        cases.push_back(
            {k, "ppo/CartPole-v1", [&, seed] { return timed_ppo_cartpole(seed, args.device, args.ppo_steps); }});
      } else if (k == "sac") {
        cases.push_back({k, "sac/Pendulum-v1", [&, seed] {
                           return timed_sac_pendulum(seed, args.device, args.offpolicy_steps, args.learning_starts);
                         }});
      } else if (k == "td3") {
        cases.push_back({k, "td3/Pendulum-v1", [&, seed] {
                           return timed_td3_pendulum(seed, args.device, args.offpolicy_steps, args.learning_starts);
                         }});
      } else {
        fail("--cases: unknown case '{}' (ppo, sac, td3)", k);
      }
    }
    std::printf(
        "rl_throughput: %lld thread(s), device %s; PPO %lld steps; SAC and TD3 %lld steps, learning from step %lld\n",
        (long long)args.threads, std::string(device_name(args.device)).c_str(), (long long)args.ppo_steps,
        (long long)args.offpolicy_steps, (long long)args.learning_starts);

    // The reference always runs with OMP_WAIT_POLICY=PASSIVE (run_python). With
    // the default policy gradlab's idle OpenMP workers spin, which costs little
    // on idle cores but, on cores shared with other work, made 2-thread PPO
    // nine times slower than 1 thread (bench/results/rl_throughput).
    const char* wait_policy = std::getenv("OMP_WAIT_POLICY");
    if (args.threads > 1 && (wait_policy == nullptr || *wait_policy == 0))
      std::printf(
          "note: OMP_WAIT_POLICY is unset here and PASSIVE for the reference; on a shared machine set "
          "OMP_WAIT_POLICY=PASSIVE for both\n");

    std::vector<Runs> measured(cases.size());
    const int64_t before = args.no_reference ? args.runs : (args.runs + 1) / 2;
    for (size_t i = 0; i < cases.size(); ++i)
      for (int64_t r = 0; r < before; ++r) measured[i].add(cases[i].train());
    Reference ref;
    if (!args.no_reference) {
      std::vector<std::string> keys;
      for (const Case& c : cases) keys.push_back(c.key);
      ref = run_reference(
          "bench/pytorch/rl_throughput.py",
          fmt::format("--threads {} --seed {} --cases {} --ppo-steps {} --offpolicy-steps {} "
                      "--learning-starts {}",
                      args.threads, args.seed, join(keys), args.ppo_steps, args.offpolicy_steps, args.learning_starts),
          int(args.threads));
      if (!ref.ok) std::printf("PyTorch reference skipped: %s (make bench-deps)\n", ref.why.c_str());
    }
    for (size_t i = 0; i < cases.size(); ++i)
      for (int64_t r = before; r < args.runs; ++r) measured[i].add(cases[i].train());

    Jsonl out(args.jsonl);
    Table table({"case", "threads", "gradlab steps/s", "min-max", ref.ok ? ref.label + " steps/s" : "pytorch steps/s",
                 "ratio"});
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      const Runs& m = measured[i];
      const double rate = m.sps();
      std::vector<std::string> row = {c.name, fmt::format("{}", args.threads), fmt::format("{:.1f}", rate),
                                      fmt::format("{:.1f}-{:.1f}", m.min_sps, m.max_sps)};
      Jsonl::Record rec{.bench = "rl_throughput",
                        .case_name = c.name,
                        .metric = "steps_per_s",
                        .value = rate,
                        .unit = "steps/s",
                        .threads = int(args.threads)};
      rec.extra["device"] = std::string(device_name(args.device));
      rec.numbers["steps"] = double(m.steps);
      rec.numbers["seconds"] = m.seconds;
      rec.numbers["runs"] = double(args.runs);
      if (c.key != "ppo") rec.numbers["learning_starts"] = double(args.learning_starts);
      const std::optional<double> ref_seconds = ref.seconds(c.name);  // per environment step
      add_comparison(row, rec, rate, ref_seconds ? std::optional(1.0 / *ref_seconds) : std::nullopt, ref.label);
      out.write(rec);
      table.row(row);
    }
    std::fputs(table.str().c_str(), stdout);
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "rl_throughput: %s\n", e.what());
    return 1;
  }
  return 0;
}
