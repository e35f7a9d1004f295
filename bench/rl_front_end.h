// What the RL front ends (build/bench/ppo, sac, td3) share: the flags every
// one of them binds around its algorithm's Args (SAC's and TD3's parse and
// run whole), and the last step, one summary line on stdout and, with
// --jsonl, the final evaluation return and the steps per second as records
// {"bench": ALGO, "case": ENV, "device": ..., ...}. --device puts the
// networks and buffers on a device (the env steps on the CPU).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include "algorithms/rl/rl_utils.h"
#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/parallel.h"

namespace gradlab::bench {

// A front end's flags past its algorithm's Args.
struct FrontEndFlags {
  int64_t seed = 0;  // Args::seed (unsigned), bound as a flag and copied back after parse
  int64_t threads = 1;
  std::string jsonl;
  bool smoke = false;
};

// The first flags of every front end: the run's name, environment, seed and length.
template <class Args>
void bind_run_flags(Cli& cli, Args& a, FrontEndFlags& f, const std::string& env_help) {
  f.seed = int64_t(a.seed);
  cli.bind(a.exp_name, "--exp-name", "run name (CSV and progress line)");
  cli.bind(a.env_id, "--env-id", env_help);
  cli.bind(f.seed, "--seed", "seed of every generator of the run", {0, INT64_MAX});
  cli.bind(a.total_timesteps, "--total-timesteps", "environment steps", {1, INT64_MAX});
}

// The last ones, from the evaluation on; `eval_kind` says how the evaluation acts ("greedy", "deterministic").
template <class Args>
void bind_output_flags(Cli& cli, Args& a, FrontEndFlags& f, const std::string& eval_kind) {
  cli.bind(a.eval_episodes, "--eval-episodes", fmt::format("episodes of the {} evaluation", eval_kind), {1, INT64_MAX});
  cli.bind(a.eval_every, "--eval-every", "steps between evaluations (0: only at the end)", {0, INT64_MAX});
  cli.bind(a.log_csv, "--log-csv", "CSV log (fixed CleanRL keys), appended line by line");
  cli.bind(f.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(f.jsonl, "--jsonl", "append eval_return and SPS records to this file");
  cli.bind(a.device, "--device",
           "where the networks, optimiser state and buffers live: cpu, cuda (a CUDA build "
           "with a GPU) or ref; the env steps on the CPU");
}

// SAC's and TD3's last flags, from --hidden on; then parse() and --smoke's small run (300 steps, learning from
// step 200, 64-unit networks, 2 evaluation episodes) for the flags not given.
template <class Args>
void parse_off_policy(Cli& cli, int argc, char** argv, Args& a, FrontEndFlags& f) {
  cli.bind(a.hidden, "--hidden", "width of the two ReLU layers", {1, INT64_MAX});
  bind_output_flags(cli, a, f, "deterministic");
  cli.bind_flag(f.smoke, "--smoke",
                "a few seconds: 300 steps, learning from step 200, 64-unit networks, 2 evaluation episodes");
  cli.parse(argc, argv);
  set_num_threads(int(f.threads));
  a.seed = uint64_t(f.seed);
  a.total_timesteps = cli.budget_default<int64_t>(f.smoke, "--total-timesteps", a.total_timesteps, 300);
  a.learning_starts = cli.budget_default<int64_t>(f.smoke, "--learning-starts", a.learning_starts, 200);
  a.hidden = cli.budget_default<int64_t>(f.smoke, "--hidden", a.hidden, 64);
  a.eval_episodes = cli.budget_default<int64_t>(f.smoke, "--eval-episodes", a.eval_episodes, 2);
}

// `eval_kind` says how the evaluation acts ("greedy", "deterministic").
inline void report_training(const std::string& algo, const std::string& env_id, int64_t seed, const rl::TrainResult& r,
                            const char* eval_kind, int64_t eval_episodes, const std::string& jsonl, int64_t threads,
                            Device device) {
  fmt::print("{} {} seed {}: {} steps in {:.1f} s ({:.0f} SPS), {} eval return {:.2f} over {} episodes\n", algo, env_id,
             seed, r.env_steps, r.seconds, r.sps, eval_kind, r.final_eval_return, eval_episodes);
  const std::map<std::string, std::string> extra{{"device", std::string(device_name(device))}};
  Jsonl out(jsonl);
  out.write({.bench = algo,
             .case_name = env_id,
             .metric = "eval_return",
             .value = r.final_eval_return,
             .unit = "return",
             .threads = int(threads),
             .extra = extra});
  out.write({.bench = algo,
             .case_name = env_id,
             .metric = "SPS",
             .value = r.sps,
             .unit = "steps/s",
             .threads = int(threads),
             .extra = extra});
}

// SAC's and TD3's run: `train` on the parsed Args, the report, and exit status 1 with one line on an error.
template <class Args, class Train>
int run_off_policy(const std::string& algo, const Args& a, const FrontEndFlags& f, Train train) {
  try {
    const rl::TrainResult r = train(a);
    report_training(algo, a.env_id, a.seed, r, "deterministic", a.eval_episodes, f.jsonl, f.threads, a.device);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", algo.c_str(), e.what());
    return 1;
  }
  return 0;
}

}  // namespace gradlab::bench
