// orpo_toy: ORPO's square toy. States in [-3, 3]^2, actions in [-1, 1]^2,
// reward (x + y)/sqrt(2); the data are 10,000 uniform-action transitions
// from the band |x + y| < 0.25, so the best behaviour (walk straight to
// (3, 3), a 10-step return of about 38.2) lies far outside the data. A
// pessimistic method keeps the policy near the band; ORPO's optimistic
// rollouts are meant to carry it out. Per seed, the data and one dynamics
// ensemble are shared by every model-based method (a paired comparison).
//   orpo                 ORPO (lambda 100, beta 1, h = h_o = 5, as the paper's toy)
//   mopo                 MOPO: SAC in the pessimistic MDP
//   td3bc, cql, bc       model-free offline baselines on the data alone
//   orpo_pi_o_eq_pi, orpo_random_rollout, orpo_beta0, ...   ablations
// Metric: the mean 10-step return of the deterministic policy over 10
// episodes from band states; the trajectories of each method's final policy
// from five start states are written to trajectories.csv and plotted.
//   build/bench/orpo_toy --quick                (make reproduce's budget)
//   build/bench/orpo_toy --seeds 10 --jsonl orpo_toy.jsonl   (the full budget of bench/results/orpo_toy)
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "bench/common/bench.h"
#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"
#include "bench/offline_front_end.h"
#include "envs/env.h"
#include "envs/offline_toys.h"
#include "tensor/atomic_file.h"

using namespace gradlab;
using bench::RunContext;
using bench::RunResult;

namespace {

struct SeedAssets {
  envs::Dataset data;
  std::shared_ptr<const rl::DynamicsEnsemble> model;
  rl::DynamicsTrainReport report;
};

// Five fixed start states along the band, for the trajectory plot.
const std::vector<std::array<double, 2>> kStarts = {{-2, 2}, {-1, 1}, {0, 0}, {1, -1}, {2, -2}};

// trajectories.png: one panel per method, the data band shaded and the five
// paths of seed 0's final policy (drawn by gnuplot from trajectories.csv,
// when gnuplot is installed; the CSV is the record either way).
void plot_toy_trajectories(const std::string& out, const std::vector<std::string>& methods) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0 || methods.empty()) return;
  const int cols = std::min<int>(3, int(methods.size())), rows = (int(methods.size()) + cols - 1) / cols;
  std::string gp = fmt::format(
      "set terminal pngcairo size {},{} noenhanced\nset output 'trajectories.png.tmp'\n"
      "set datafile separator ','\nset xrange [-3:3]\nset yrange [-3:3]\nset size ratio -1\nunset key\n"
      "set style fill transparent solid 0.2 noborder\nset multiplot layout {},{} title "
      "'orpo_toy: paths of the final policy (seed 0) from five band states; shaded: the data band'\n",
      360 * cols, 360 * rows, rows, cols);
  for (const std::string& m : methods)
    gp += fmt::format(
        "set title '{0}'\nplot '+' using 1:(-$1-0.25):(-$1+0.25) with filledcurves lc rgb 'gray', "
        "for [k=0:4] 'trajectories.csv' using (strcol(1) eq '{0}' && $2 == 0 && $3 == k ? $5 : NaN):6 "
        "with linespoints lw 2 pt 7 ps 0.5\n",
        m);
  gp += "unset multiplot\n";
  write_file_atomic(out + "/trajectories.gp", gp);
  const std::string cmd = fmt::format("cd {} && gnuplot trajectories.gp 2>/dev/null", bench::shell_quote(out));
  if (std::system(cmd.c_str()) == 0)
    std::filesystem::rename(out + "/trajectories.png.tmp", out + "/trajectories.png");
  else
    fmt::print(stderr, "[orpo_toy] gnuplot could not draw trajectories.png (the data is in trajectories.csv)\n");
}

}  // namespace

int run_experiment(int argc, char** argv) {
  bench::Cli cli("orpo_toy",
                 "ORPO against MOPO, TD3+BC, CQL and BC on ORPO's square toy, where the optimum lies outside the data");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/10, /*quick_seeds=*/3);
  std::string methods = "orpo,mopo,td3bc,cql,bc,orpo_pi_o_eq_pi";
  cli.bind(methods, "--methods",
           "methods to run (also: orpo_random_rollout, orpo_beta0, orpo_beta10x, orpo_lambda0.5x, orpo_lambda5x)");
  bench::OfflineFlags offline(cli, {.transitions = 10000,
                                    .smoke_transitions = 1000,
                                    .transitions_help = "dataset rows",
                                    .lambda = 100,
                                    .beta = 1,
                                    .hidden = 128,
                                    .model_hidden = 200,
                                    .rollout_batch = 10000,
                                    .smoke_rollout_batch = 500,
                                    .smoke_steps = 200,
                                    // until early stopping (67-85 epochs): ORPO leans on the
                                    // model far from the data, where 30 epochs left it 100x worse
                                    .model_epochs = 0,
                                    .quick_model_epochs = 0});
  cli.parse(argc, argv);
  bench::OfflineSettings s = offline.settings(cli, flags, "orpo_toy");
  s.eval_episodes = 10;
  const int64_t data_rows = offline.rows(cli, flags.smoke);

  bench::SeedCache<SeedAssets> cache([&](const RunContext& run) {
    SeedAssets a;
    a.data = envs::build_dataset("SquareToy", "random", data_rows, run.seed);
    rl::DynamicsEnsembleOptions dynamics = s.dynamics;
    dynamics.device = run.device;  // where the methods that share it run
    auto model = std::make_shared<rl::DynamicsEnsemble>(a.data.obs_dim(), a.data.act_dim(), dynamics,
                                                        rl::derive_seed(run.seed, 7));
    a.report = model->train(a.data);
    a.model = model;
    return a;
  });

  const std::vector<bench::OfflineMethod> all = bench::offline_methods();
  std::mutex trajectories_mutex;
  std::map<std::string, std::vector<std::string>> trajectory_rows;  // by method, seed 0 only
  bench::Experiment ex("orpo_toy", flags);
  for (const std::string& name : bench::split_list(methods)) {
    const bench::OfflineMethod& m = bench::find_offline_method(all, name, "orpo_toy");
    ex.add(m.name, [&, m](const RunContext& run) {
      bench::OfflineSettings run_settings = s;
      run_settings.steps = offline.run_steps(run);
      run_settings.device = run.device;
      run_settings.eval_every = std::max<int64_t>(run_settings.steps / 10, 1);
      const SeedAssets& a = cache.get(run);
      const rl::OfflineResult r = m.run(run_settings, a.data, a.model, run.seed);
      RunResult out;
      for (const auto& [x, y] : r.eval_returns) out.curve("return", x, y);
      out.metric("return", r.final_return);
      for (const auto& [k, v] : r.diagnostics) out.metric(k, v);
      if (m.model_based) {
        out.metric("model_holdout_mse", a.report.elite_holdout_mse);
        out.metric("model_epochs", double(a.report.epochs));
      }
      // The final policy's paths from the fixed starts (first seed only), and how far it ends from the band.
      double end_distance = 0;
      std::vector<std::string> rows;
      for (size_t k = 0; k < kStarts.size(); ++k) {
        envs::SquareToy env;
        env.reset(run.seed);
        env.set_state(kStarts[k][0], kStarts[k][1]);
        std::vector<double> obs = {kStarts[k][0], kStarts[k][1]};
        rows.push_back(fmt::format("{},{},{},0,{:.4f},{:.4f}", m.name, run.seed_index, k, obs[0], obs[1]));
        for (int64_t t = 1; t <= envs::SquareToy::episode_length; ++t) {
          const envs::Step st = env.step(r.policy(obs));
          obs = st.obs;
          rows.push_back(fmt::format("{},{},{},{},{:.4f},{:.4f}", m.name, run.seed_index, k, t, obs[0], obs[1]));
          if (st.terminated || st.truncated) break;
        }
        end_distance += envs::SquareToy::reward_at(obs[0], obs[1]) / double(kStarts.size());
      }
      out.metric("end_distance", end_distance);
      if (run.seed_index == 0) {
        std::lock_guard<std::mutex> lock(trajectories_mutex);
        trajectory_rows[m.name] = std::move(rows);
      }
      return out;
    });
  }
  // Each seed's dataset and ensemble build as a job of their own, side by side, before the methods.
  ex.prepare("the dataset and dynamics model", [&](const RunContext& run) { cache.get(run); });
  ex.run();
  ex.report({"return", "end_distance", "rollout_uncertainty", "rollout_uncertainty_optimistic",
             "rollout_uncertainty_output", "rollout_policy_return", "model_holdout_mse", "model_epochs", "seconds"});

  // Trajectories of seed 0's final policies, in the order of the methods (the
  // runs finish in any order): CSV and, with gnuplot, one panel of paths per method.
  std::string csv = "method,seed,start,step,x,y\n";
  for (const std::string& method : ex.methods())
    for (const std::string& row : trajectory_rows[method]) csv += row + "\n";
  write_file_atomic(ex.out_dir() + "/trajectories.csv", csv);
  plot_toy_trajectories(ex.out_dir(), ex.methods());

  auto wanted = [&](const std::string& m) {
    const auto& ms = ex.methods();
    return std::find(ms.begin(), ms.end(), m) != ms.end();
  };
  for (const char* other : {"mopo", "td3bc", "cql"})
    if (wanted("orpo") && wanted(other))
      bench::paired_claim(ex, fmt::format("ORPO's 10-step return on the square toy > {}'s", other), "orpo", other,
                          "return");
  if (wanted("orpo") && wanted("orpo_pi_o_eq_pi"))
    bench::paired_claim(ex, "ORPO > the same method with pi_o = pi (MOPO-style TD3+BC)", "orpo", "orpo_pi_o_eq_pi",
                        "return");
  if (wanted("orpo") && wanted("td3bc"))
    bench::paired_claim(ex, "ORPO's trajectories leave the data band further than TD3+BC's (end distance)", "orpo",
                        "td3bc", "end_distance");
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run_experiment(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 1;
  }
}
