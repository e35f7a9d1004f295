// Curiosity-driven exploration with extrinsic reward (docs/papers/dymecu.md,
// docs/papers/temporal-inconsistency.md, docs/papers/rl-baselines.md, docs/papers/environments.md): PPO alone and PPO +
// r^i from ICM (paper form and stop-gradient), RND, Disagreement, RE3, APT, TI (fixed and EMA target) and DyMeCu
// (three memories) on DeepSea(10), DeepSea(20) and GridMaze FarGoal (one-hot cells). Reports episodes to the first
// rewarded episode, the success rate of the final (sampled) policy, state coverage during training, wall-clock (whole
// run and inside the curiosity module) and the module's trained parameters (TI claims no additional training cost),
// and for TI the snapshot interval and the snapshots in its FIFO at the end.
//   build/bench/exploration --quick            (make reproduce's budget)
//   build/bench/exploration --methods ppo,ti --envs DeepSea-20 --seeds 3
#include <fmt/format.h>

#include <cmath>

#include "algorithms/rl/curiosity/exploration_probe.h"
#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "envs/env.h"

using namespace gradlab;
using namespace gradlab::bench;
using namespace gradlab::rl::curiosity;

namespace {

struct Settings {
  std::string methods = "ppo,icm,icm_stopgrad,rnd,disagreement,re3,apt,ti,ti_ema,dymecu,dymecu_own,dymecu_paramavg";
  std::string envs = "DeepSea-10,DeepSea-20,GridMaze-FarGoal-OneHot";
  int64_t steps = 0;
  double gamma_ext = 0.99;
  double gamma_int = 0.99;
  double int_coef = 1.0;
  double ext_coef = 2.0;
  double lr = 1e-3;
  double ent_coef = 0.01;
  int64_t ti_interval = 0;
  double ti_interval_fraction = 0.0;
  int64_t ti_snapshots = 5;
  bool ti_normalize = false;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    Cli cli("exploration", "PPO + curiosity (ICM, RND, Disagreement, RE3, APT, TI, DyMeCu) on DeepSea and FarGoal");
    ExperimentFlags flags(cli, /*full_seeds=*/10, /*quick_seeds=*/5);
    Settings settings;
    cli.bind(settings.methods, "--methods", "methods to run (also: ti_uniform)");
    cli.bind(settings.envs, "--envs",
             "environments (GridMaze one-hot: the (x, y) input learns too slowly at these budgets)");
    cli.bind(settings.steps, "--steps", "environment steps per run (0: by budget)", {0, INT64_MAX});
    cli.bind(settings.gamma_ext, "--gamma-ext", "extrinsic discount (RND uses 0.999)");
    cli.bind(settings.gamma_int, "--gamma-int", "intrinsic discount");
    cli.bind(settings.int_coef, "--int-coef", "weight of the intrinsic advantage (RND: 1)");
    cli.bind(settings.ext_coef, "--ext-coef", "weight of the extrinsic advantage (RND: 2)");
    cli.bind(settings.lr, "--lr", "PPO learning rate");
    cli.bind(settings.ent_coef, "--ent-coef", "entropy bonus");
    cli.bind(settings.ti_interval, "--ti-interval",
             "TI: gradient steps between snapshots (0: from --ti-interval-fraction)", {0, INT64_MAX});
    cli.bind(settings.ti_interval_fraction, "--ti-interval-fraction",
             "TI: snapshot interval as a fraction of the run's gradient steps (0: 1/(3(K-1)), "
             "the FIFO fills in the first third)");
    cli.bind(settings.ti_snapshots, "--ti-snapshots", "TI: snapshots K in the FIFO", {1, INT64_MAX});
    cli.bind_flag(settings.ti_normalize, "--ti-normalize",
                  "TI: reward ||P||_* / (||P||_F sqrt(max(K, d))) instead of ||P||_*");
    cli.parse(argc, argv);
    GL_CHECK(settings.ti_snapshots >= 2, "--ti-snapshots must be >= 2, got {}", settings.ti_snapshots);
    GL_CHECK(settings.ti_interval_fraction >= 0 && settings.ti_interval_fraction <= 1,
             "--ti-interval-fraction must be in [0, 1], got {}", settings.ti_interval_fraction);

    Experiment ex("exploration", flags);
    const std::vector<std::string> methods = split_list(settings.methods), env_names = split_list(settings.envs);
    for (const std::string& env_name : env_names) {
      for (const std::string& method : methods) {
        ex.add(method + "/" + env_name, [=, &settings](const RunContext& run) {
          CuriosityRunSpec spec;
          spec.args.method = method == "ppo" ? "none" : method;
          spec.args.seed = run.seed;
          spec.args.device = run.device;
          spec.args.gamma_ext = settings.gamma_ext;
          spec.args.gamma_int = settings.gamma_int;
          spec.args.int_coef = settings.int_coef;
          spec.args.ext_coef = settings.ext_coef;
          spec.args.learning_rate = settings.lr;
          spec.args.ent_coef = settings.ent_coef;
          spec.args.curiosity.ti_snapshots = settings.ti_snapshots;
          spec.args.curiosity.ti_frobenius_normalize = settings.ti_normalize;
          spec.make = [env_name] { return envs::make_env(env_name); };
          const bool deep_sea = env_name.rfind("DeepSea", 0) == 0;
          spec.steps = settings.steps > 0 ? settings.steps
                                          : (deep_sea ? run.pick(60000, 24000, 1024) : run.pick(100000, 30000, 1024));
          // TI's snapshot interval from the run's gradient steps, so that the FIFO fills during the run.
          spec.args.curiosity.ti_snapshot_interval =
              settings.ti_interval > 0 ? settings.ti_interval
                                       : ti_interval_for(curiosity_gradient_steps(spec.args, spec.steps),
                                                         settings.ti_snapshots, settings.ti_interval_fraction);
          spec.eval_episodes = run.pick(50, 20, 2);
          const CuriosityRunResult r = run_curiosity(spec);
          RunResult out;
          const int64_t episodes = int64_t(r.train.episodes.size());
          out.metric("success_rate", r.success_rate);
          out.metric("reward_found", r.first_success_episode > 0 ? 1.0 : 0.0);
          // Censored at the number of episodes run when no episode was rewarded.
          out.metric("episodes_to_first_reward", r.first_success_episode > 0 ? r.first_success_episode : episodes);
          out.metric("coverage", r.coverage);
          out.metric("curiosity_seconds", r.train.curiosity_seconds);
          out.metric("train_seconds", r.train.seconds);
          out.metric("curiosity_parameters", double(r.curiosity_parameters));
          if (r.ti_snapshots_filled >= 0) {
            out.metric("ti_interval", double(spec.args.curiosity.ti_snapshot_interval));
            out.metric("ti_snapshots_filled", double(r.ti_snapshots_filled));
            out.metric("ti_snapshots_taken", double(r.ti_snapshots_taken));
          }
          // Learning curve: the success of training episodes, in windows of 10% of the run.
          for (const auto& [x, y] : training_success_curve(r.train.episodes, spec.steps))
            out.curve("train_success", x, y);
          return out;
        });
      }
    }
    ex.run();
    ex.report({"success_rate", "reward_found", "episodes_to_first_reward", "coverage", "curiosity_seconds",
               "train_seconds", "seconds", "curiosity_parameters", "ti_interval", "ti_snapshots_filled",
               "ti_snapshots_taken"});

    // ---- claims ----
    auto has = [&](const std::string& m) {
      for (const auto& x : ex.methods())
        if (x == m) return true;
      return false;
    };
    const std::vector<std::string> baselines = {"icm", "icm_stopgrad", "rnd", "disagreement", "re3", "apt"};
    for (const std::string& env_name : env_names) {
      // docs/papers/dymecu.md, extrinsic setting: DyMeCu >= the best curiosity baseline (success rate); TI likewise.
      for (const std::string ours : {"dymecu", "dymecu_own", "dymecu_paramavg", "ti", "ti_ema"}) {
        if (!has(ours + "/" + env_name)) continue;
        double best = -1;
        std::string best_name;
        for (const auto& b : baselines)
          if (has(b + "/" + env_name) && ex.stat(b + "/" + env_name, "success_rate").mean > best) {
            best = ex.stat(b + "/" + env_name, "success_rate").mean;
            best_name = b;
          }
        if (best_name.empty()) continue;
        // Paired over seeds against the best baseline by mean success (bench::paired_verdict).
        bench::paired_claim(ex, fmt::format("{} success on {} >= best of ICM/RND/Disagreement/RE3/APT", ours, env_name),
                            ours + "/" + env_name, best_name + "/" + env_name, "success_rate");
      }
    }
    // docs/papers/temporal-inconsistency.md: TI trains one predictor and reuses its snapshots, "without additional
    // training costs". As stated: the whole run's wall-clock against plain PPO (no module) and against RND (one
    // trained predictor), paired by seed (lower is better, so the other method minus TI), with the trained
    // parameters beside; then the weaker reading, the module's time against Disagreement's K models.
    for (const std::string& env_name : env_names) {
      if (!has("ti/" + env_name)) continue;
      std::string line;
      for (const std::string m : {"ppo", "rnd", "disagreement", "ti", "ti_ema"})
        if (has(m + "/" + env_name))
          line += fmt::format("{}{} {} s, {:.0f} trained parameters", line.empty() ? "" : "; ", m,
                              format_stat(ex.stat(m + "/" + env_name, "train_seconds"), 2),
                              ex.stat(m + "/" + env_name, "curiosity_parameters").mean);
      fmt::print("training cost on {}: {}\n", env_name, line);
      for (const std::string other : {"ppo", "rnd"})
        if (has(other + "/" + env_name))
          bench::paired_claim(ex,
                              fmt::format("TI adds no training cost over {} on {} (run wall-clock; TI trains {:.0f} "
                                          "parameters, {} {:.0f})",
                                          other == "ppo" ? "plain PPO" : "RND", env_name,
                                          ex.stat("ti/" + env_name, "curiosity_parameters").mean, other,
                                          ex.stat(other + "/" + env_name, "curiosity_parameters").mean),
                              other + "/" + env_name, "ti/" + env_name, "train_seconds");
    }
    for (const std::string& env_name : env_names) {
      if (!has("ti/" + env_name) || !has("disagreement/" + env_name)) continue;
      // Lower is better: Disagreement's seconds minus TI's, seed by seed.
      bench::paired_claim(ex, "TI's curiosity module costs less wall-clock than Disagreement's ensemble on " + env_name,
                          "disagreement/" + env_name, "ti/" + env_name, "curiosity_seconds");
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "exploration: {}\n", e.what());
    return 1;
  }
}
