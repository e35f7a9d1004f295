// orpo_d4rl: ORPO against MOPO, TD3+BC, CQL and BC on the Pendulum-v1
// datasets in D4RL's style (envs/datasets.h): random, medium, medium-replay,
// medium-expert and expert, 50,000 transitions each, built once with seed 0
// (fixed across run seeds, as D4RL's files are). Metric: the D4RL-normalised
// score 100 (R - R_random) / (R_expert - R_random) of the deterministic
// policy over 10 episodes. Per seed and dataset one dynamics ensemble is
// shared by ORPO, MOPO and the ablations (a paired comparison). The lambda,
// beta and rollout-policy ablations run on --ablation-datasets.
//   build/bench/orpo_d4rl --quick                (make reproduce's budget)
//   build/bench/orpo_d4rl --seeds 5 --jsonl orpo_d4rl.jsonl   (the full budget of bench/results/orpo_d4rl)
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "bench/common/seed_cache.h"
#include "bench/offline_front_end.h"

using namespace gradlab;
using bench::RunContext;
using bench::RunResult;

namespace {

struct SeedAssets {
  std::shared_ptr<const rl::DynamicsEnsemble> model;
  rl::DynamicsTrainReport report;
};

}  // namespace

int run_experiment(int argc, char** argv) {
  bench::Cli cli("orpo_d4rl",
                 "ORPO against MOPO, TD3+BC, CQL and BC on Pendulum-v1 datasets in D4RL's style "
                 "(random, medium, medium-replay, medium-expert, expert), D4RL-normalised scores");
  bench::ExperimentFlags flags(cli, /*full_seeds=*/5, /*quick_seeds=*/2);
  std::string methods = "orpo,mopo,td3bc,cql,bc", datasets = "random,medium,medium-replay,medium-expert,expert";
  std::string ablations = "orpo_pi_o_eq_pi,orpo_random_rollout,orpo_beta0,orpo_beta10x,orpo_lambda0.5x,orpo_lambda5x";
  std::string ablation_datasets = "medium-replay";
  cli.bind(methods, "--methods", "methods run on every dataset");
  cli.bind(datasets, "--datasets", "dataset levels");
  cli.bind(ablations, "--ablations", "ORPO ablations, run on --ablation-datasets only ('' for none)");
  cli.bind(ablation_datasets, "--ablation-datasets", "where the ablations run");
  bench::OfflineFlags offline(cli, {.transitions = 50000,
                                    .smoke_transitions = 2000,
                                    .transitions_help = "rows per dataset",
                                    .lambda = 1.0,
                                    .beta = 0.1,
                                    .hidden = 64,
                                    .model_hidden = 64,
                                    .rollout_batch = 5000,
                                    .smoke_rollout_batch = 200,
                                    .smoke_steps = 100,
                                    // 100 epochs took two thirds of the quick run, whose methods
                                    // train 2000 steps; 30 moved no mean quick score by 5 points
                                    .model_epochs = 100,
                                    .quick_model_epochs = 30});
  cli.parse(argc, argv);
  bench::OfflineSettings s = offline.settings(cli, flags, "orpo_d4rl");
  s.eval_episodes = flags.smoke ? 2 : 10;
  const int64_t rows = offline.rows(cli, flags.smoke);

  const std::vector<std::string> levels = bench::split_list(datasets);
  for (const std::string& l : levels)
    GL_CHECK(std::find(envs::dataset_levels().begin(), envs::dataset_levels().end(), l) != envs::dataset_levels().end(),
             "orpo_d4rl: --datasets: unknown level '{}'", l);
  // The datasets, built once (seed 0) before any run.
  std::map<std::string, envs::Dataset> data;
  for (const std::string& l : levels) data[l] = envs::build_dataset("Pendulum-v1", l, rows, 0);
  std::map<std::string, std::unique_ptr<bench::SeedCache<SeedAssets>>> models;
  for (const std::string& l : levels)
    models[l] = std::make_unique<bench::SeedCache<SeedAssets>>([&, l](const RunContext& run) {
      SeedAssets a;
      rl::DynamicsEnsembleOptions dynamics = s.dynamics;
      dynamics.device = run.device;  // where the methods that share it run
      auto model = std::make_shared<rl::DynamicsEnsemble>(3, 1, dynamics, rl::derive_seed(run.seed, 7));
      a.report = model->train(data.at(l));
      a.model = model;
      return a;
    });

  const std::vector<bench::OfflineMethod> all = bench::offline_methods();
  bench::Experiment ex("orpo_d4rl", flags);
  std::set<std::string> model_levels;  // the levels whose methods roll out a model
  auto add = [&](const std::string& name, const std::string& level) {
    const bench::OfflineMethod& m = bench::find_offline_method(all, name, "orpo_d4rl");
    if (m.model_based) model_levels.insert(level);
    ex.add(name + "/" + level, [&, m, level](const RunContext& run) {
      bench::OfflineSettings run_settings = s;
      run_settings.steps = offline.run_steps(run);
      run_settings.device = run.device;
      run_settings.eval_every = std::max<int64_t>(run_settings.steps / 10, 1);
      std::shared_ptr<const rl::DynamicsEnsemble> model;
      RunResult out;
      if (m.model_based) {
        const SeedAssets& a = models.at(level)->get(run);
        model = a.model;
        out.metric("model_holdout_mse", a.report.elite_holdout_mse);
        out.metric("model_epochs", double(a.report.epochs));
      }
      const rl::OfflineResult r = m.run(run_settings, data.at(level), model, run.seed);
      for (const auto& [x, y] : r.eval_returns)
        out.curve("normalized_score", x, envs::normalized_score(y, *rl::dataset_references(data.at(level))));
      out.metric("normalized_score", r.final_score);
      out.metric("return", r.final_return);
      for (const auto& [k, v] : r.diagnostics) out.metric(k, v);
      return out;
    });
  };
  const std::vector<std::string> chosen = bench::split_list(methods);
  for (const std::string& l : levels)
    for (const std::string& m : chosen) add(m, l);
  const std::vector<std::string> ablation_levels = bench::split_list(ablation_datasets);
  for (const std::string& l : ablation_levels) {
    // The default ablation dataset is skipped when --datasets leaves it out; one asked for must be there.
    GL_CHECK(data.count(l) || !cli.given("--ablation-datasets"),
             "orpo_d4rl: --ablation-datasets: '{}' is not among --datasets", l);
    if (!data.count(l)) continue;
    for (const std::string& m : bench::split_list(ablations)) add(m, l);
  }
  // Each level's ensembles train as jobs of their own, side by side, before the methods that share them.
  for (const std::string& l : levels)
    if (model_levels.count(l))
      ex.prepare("the dynamics model on " + l, [&, l](const RunContext& run) { models.at(l)->get(run); });
  ex.run();
  ex.report({"normalized_score", "return", "rollout_uncertainty", "rollout_uncertainty_optimistic",
             "rollout_uncertainty_output", "rollout_policy_return", "model_holdout_mse", "model_epochs", "seconds"});

  // Averages over the datasets, per seed: the paper's comparison is of mean scores across datasets.
  auto has = [&](const std::string& name) {
    const auto& ms = ex.methods();
    return std::find(ms.begin(), ms.end(), name) != ms.end();
  };
  auto average = [&](const std::string& method) {
    std::vector<double> mean_over_levels;
    for (const std::string& l : levels) {
      const std::vector<double> v = ex.values(method + "/" + l, "normalized_score");
      if (mean_over_levels.empty()) mean_over_levels.assign(v.size(), 0.0);
      for (size_t i = 0; i < v.size(); ++i) mean_over_levels[i] += v[i] / double(levels.size());
    }
    return mean_over_levels;
  };
  auto all_levels = [&](const std::string& method) {
    return std::all_of(levels.begin(), levels.end(), [&](const std::string& l) { return has(method + "/" + l); });
  };
  std::map<std::string, std::vector<double>> averages;
  for (const std::string& m : chosen)
    if (all_levels(m)) {
      averages[m] = average(m);
      fmt::print("{:<8} mean normalised score over {} datasets: {}\n", m, levels.size(),
                 bench::format_stat(bench::stat_of(averages[m]), 1));
    }
  if (averages.count("orpo") && averages.count("mopo")) {
    const bench::Stat d = bench::stat_of(bench::paired_differences(averages["orpo"], averages["mopo"]));
    ex.claim("ORPO's mean normalised score over the Pendulum datasets >= MOPO's", bench::paired_verdict(d),
             fmt::format("ORPO {} vs MOPO {}; paired difference {:+.1f} ± {:.1f}",
                         bench::format_stat(bench::stat_of(averages["orpo"]), 1),
                         bench::format_stat(bench::stat_of(averages["mopo"]), 1), d.mean, d.ci95));
  }
  for (const char* baseline : {"td3bc", "cql"})
    if (has(std::string(baseline) + "/medium")) {
      const bench::Stat st = ex.stat(std::string(baseline) + "/medium", "normalized_score");
      ex.claim(fmt::format("{} is credible: normalised score on medium >= 40", baseline),
               bench::paired_verdict(bench::stat_of(bench::minus(st.values, 40.0))),
               fmt::format("{} on medium: {}", baseline, bench::format_stat(st, 1)));
    }
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
