// Experiment rl_baselines: PPO on CartPole-v1 and Acrobot-v1, SAC
// and TD3 on Pendulum-v1, several seeds each, through the experiment runner.
// Reports the final deterministic/greedy evaluation return (10 episodes),
// seconds and end-to-end environment steps per second per run, learning
// curves (periodic evaluations and binned training returns), the raw
// CartPole-v1 stepping rate on one core, and the figures as claims:
//   PPO CartPole-v1: eval return >= 475 within 500k steps in >= 4/5 seeds
//   SAC and TD3 Pendulum-v1: eval return >= -200 within 30k steps in >= 4/5 seeds
// Budgets: full (5 seeds, the step counts), --quick (3 seeds, fewer
// steps and, for SAC/TD3, 64-unit networks; see the claim texts), --smoke.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <random>

#include "algorithms/rl/ppo.h"
#include "algorithms/rl/sac.h"
#include "algorithms/rl/td3.h"
#include "bench/common/bench.h"
#include "bench/common/experiment.h"
#include "envs/vector_env.h"
#include "tensor/parallel.h"

using namespace gradlab;
using bench::Budget;
using bench::RunContext;
using bench::RunResult;

namespace {

// Training-episode returns averaged in `bins` equal windows of environment
// steps (a curve with the same x for every seed).
void add_binned(RunResult& out, const std::string& name, const std::vector<std::pair<double, double>>& episodes,
                double total_steps, int bins) {
  std::vector<double> sum(size_t(bins), 0.0), count(size_t(bins), 0.0);
  for (const auto& [x, y] : episodes) {
    const int b = std::min(bins - 1, int(x / total_steps * bins));
    sum[size_t(b)] += y;
    count[size_t(b)] += 1;
  }
  for (int b = 0; b < bins; ++b)
    if (count[size_t(b)] > 0) out.curve(name, (b + 1) * total_steps / bins, sum[size_t(b)] / count[size_t(b)]);
}

RunResult to_run_result(const rl::TrainResult& r, const RunContext& run, const std::string& env_id, double solved_at) {
  // One line per finished run, so that a long run's figures survive an interrupted experiment.
  fmt::print(stderr, "[rl_baselines] {} seed {}: eval return {:.2f}{} after {} steps, {:.0f} SPS, {:.1f} s\n",
             run.method, run.seed, r.final_eval_return, r.final_eval_return >= solved_at ? " (solved)" : "",
             r.env_steps, r.sps, r.seconds);
  RunResult out;
  out.metric("eval_return", r.final_eval_return);
  out.metric("sps", r.sps);
  out.metric("train_seconds", r.seconds);
  out.metric("solved", r.final_eval_return >= solved_at ? 1.0 : 0.0);
  for (const auto& [x, y] : r.eval_returns) out.curve("eval_return/" + env_id, x, y);
  add_binned(out, "train_return/" + env_id, r.episode_returns, double(r.env_steps), 20);
  return out;
}

// Raw CartPole-v1 stepping on this thread: uniformly random actions, reset at
// each episode's end; the single env and a VectorEnv of 4 (f32 batch).
std::pair<double, double> cartpole_env_sps(int64_t steps) {
  std::mt19937 rng(7);
  envs::EnvPtr env = envs::make_env("CartPole-v1");
  env->reset(0);
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i)
    if (env->step({double(rng() & 1)}).done()) env->reset();
  const double single = double(steps) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  envs::VectorEnv vec([] { return envs::make_env("CartPole-v1"); }, 4);
  vec.reset(0);
  Tensor actions = zeros({4}, DType::i64);
  t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps / 4; ++i) {
    int64_t* a = actions.data<int64_t>();
    for (int k = 0; k < 4; ++k) a[k] = int64_t(rng() & 1);
    vec.step(actions);
  }
  const double vector =
      double(steps / 4 * 4) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return {single, vector};
}

int solved_needed(int seeds) { return int(std::ceil(0.8 * seeds - 1e-9)); }  // 4 of 5, 3 of 3, 1 of 1

}  // namespace

int main(int argc, char** argv) {
  bench::Cli cli("rl_baselines", "PPO (CartPole-v1, Acrobot-v1), SAC and TD3 (Pendulum-v1): several seeds, claims");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/5, /*quick_seeds=*/3);
  cli.parse(argc, argv);
  try {
    bench::Experiment ex("rl_baselines", flags);
    const Budget budget = flags.budget();

    // PPO: CleanRL's classic-control defaults; a greedy evaluation every
    // tenth of the budget for the curve.
    auto ppo_run = [](const std::string& env_id, double solved_at) {
      return [env_id, solved_at](const RunContext& run) {
        rl::PPOArgs a;
        a.env_id = env_id;
        a.seed = run.seed;
        a.device = run.device;
        a.total_timesteps = run.pick(500000, 300000, 1024);
        a.eval_every = run.budget == Budget::smoke ? 0 : a.total_timesteps / 10;
        a.eval_episodes = run.budget == Budget::smoke ? 2 : 10;
        a.progress_seconds = 0;
        return to_run_result(rl::train_ppo(a), run, env_id, solved_at);
      };
    };
    ex.add("ppo/CartPole-v1", ppo_run("CartPole-v1", 475.0));
    ex.add("ppo/Acrobot-v1", ppo_run("Acrobot-v1", -100.0));

    // SAC and TD3: CleanRL's defaults, except learning_starts 5000 for both
    // (TD3's CleanRL default, 25000, is for MuJoCo budgets and would leave
    // 5000 learning steps of 30000). Quick: 64-unit networks, 15k steps.
    ex.add("sac/Pendulum-v1", [](const RunContext& run) {
      rl::SACArgs a;
      a.seed = run.seed;
      a.device = run.device;
      a.total_timesteps = run.pick(30000, 15000, 300);
      a.learning_starts = run.pick(5000, 2000, 200);
      a.hidden = run.budget == Budget::full ? 256 : 64;
      a.eval_every = run.budget == Budget::smoke ? 0 : a.total_timesteps / 10;
      a.eval_episodes = run.budget == Budget::smoke ? 2 : 10;
      a.progress_seconds = 0;
      return to_run_result(rl::train_sac(a), run, "Pendulum-v1", -200.0);
    });
    ex.add("td3/Pendulum-v1", [](const RunContext& run) {
      rl::TD3Args a;
      a.seed = run.seed;
      a.device = run.device;
      a.total_timesteps = run.pick(30000, 15000, 300);
      a.learning_starts = run.pick(5000, 2000, 200);
      a.hidden = run.budget == Budget::full ? 256 : 64;
      a.eval_every = run.budget == Budget::smoke ? 0 : a.total_timesteps / 10;
      a.eval_episodes = run.budget == Budget::smoke ? 2 : 10;
      a.progress_seconds = 0;
      return to_run_result(rl::train_td3(a), run, "Pendulum-v1", -200.0);
    });

    ex.run();

    // solved_seeds for the JSONL records of eval_return.
    bench::Experiment::ExtraFields extra;
    for (const auto& m : ex.methods()) {
      double solved = 0;
      for (double s : ex.values(m, "solved")) solved += s;
      extra[{m, "eval_return"}] = {{"solved_seeds", solved}};
    }
    ex.report({"eval_return", "solved", "seconds", "train_seconds", "sps"}, extra);

    // Raw environment stepping, on this thread alone (the runs are finished).
    set_num_threads(1);
    const auto [single, vector] = cartpole_env_sps(budget == Budget::smoke ? 20000 : 2000000);
    fmt::print(
        "CartPole-v1 raw stepping on one core: {:.3g} steps/s (single env), {:.3g} steps/s (VectorEnv of 4, "
        "f32 batch)\n",
        single, vector);
    bench::Jsonl jsonl(flags.jsonl);
    jsonl.write({.bench = "rl_baselines",
                 .case_name = "env/CartPole-v1",
                 .metric = "env_sps",
                 .value = single,
                 .unit = "steps/s",
                 .threads = 1});
    jsonl.write({.bench = "rl_baselines",
                 .case_name = "env/CartPole-v1-vector4",
                 .metric = "env_sps",
                 .value = vector,
                 .unit = "steps/s",
                 .threads = 1});

    // The figures, as claims.
    const std::string budget_text = budget == Budget::full    ? "full budget"
                                    : budget == Budget::quick ? "quick budget"
                                                              : "smoke budget";
    auto claim = [&](const std::string& method, const std::string& text, double threshold, int64_t steps,
                     const std::string& extra_text) {
      const std::vector<double> v = ex.values(method, "eval_return");
      int solved = 0;
      std::string per_seed;
      for (double r : v) {
        solved += r >= threshold;
        per_seed += fmt::format("{}{:.1f}", per_seed.empty() ? "" : ", ", r);
      }
      const int n = int(v.size()), need = solved_needed(n);
      ex.claim(text, solved >= need,
               fmt::format("{}/{} seeds >= {} after {} steps (need {}); per seed: {} [{}{}]", solved, n, threshold,
                           steps, need, per_seed, budget_text, extra_text));
    };
    const int64_t ppo_steps = budget == Budget::full ? 500000 : budget == Budget::quick ? 300000 : 1024;
    const int64_t off_steps = budget == Budget::full ? 30000 : budget == Budget::quick ? 15000 : 300;
    const std::string off_nets = budget == Budget::full ? "" : ", 64-unit networks";
    claim("ppo/CartPole-v1", "PPO CartPole-v1: eval return >= 475 within 500k steps in >= 4/5 seeds", 475.0, ppo_steps,
          "");
    claim("sac/Pendulum-v1", "SAC Pendulum-v1: eval return >= -200 within 30k steps in >= 4/5 seeds", -200.0, off_steps,
          off_nets);
    claim("td3/Pendulum-v1", "TD3 Pendulum-v1: eval return >= -200 within 30k steps in >= 4/5 seeds", -200.0, off_steps,
          off_nets);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rl_baselines: %s\n", e.what());
    return 1;
  }
  return 0;
}
