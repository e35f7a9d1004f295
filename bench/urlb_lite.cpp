// URLB in miniature (docs/papers/dymecu.md): reward-free pre-training of PPO with
// an intrinsic reward only on GridMaze (no goal, one-hot cells), then fine-tuning a copy of
// the pre-trained agent on each of 4 goal tasks (the centre of each room)
// with the extrinsic reward only. "ppo" is the no-pre-training baseline
// (fine-tuning from a random initialisation). Reports coverage of the maze
// during pre-training and the success rate after fine-tuning, per task and on
// average. DyMeCu's claim in miniature: it beats the other curiosity methods
// on most tasks (the paper: 11 of 12 URLB tasks).
//   build/bench/urlb_lite --quick
#include <fmt/format.h>

#include <algorithm>

#include "algorithms/rl/curiosity/exploration_probe.h"
#include "bench/common/claims.h"
#include "bench/common/experiment.h"
#include "envs/env.h"

using namespace gradlab;
using namespace gradlab::bench;
using namespace gradlab::rl::curiosity;

namespace {

void copy_agent(PPOCuriosity& from, PPOCuriosity& to) {
  to.actor.load_state_dict(from.actor.state_dict());
  to.critic_torso.load_state_dict(from.critic_torso.state_dict());
  to.value_ext.load_state_dict(from.value_ext.state_dict());
  to.value_int.load_state_dict(from.value_int.state_dict());
}

struct Settings {
  std::string methods = "ppo,icm,icm_stopgrad,rnd,disagreement,re3,apt,ti,ti_ema,dymecu,dymecu_own,dymecu_paramavg";
  int64_t pretrain_steps = 0;
  int64_t finetune_steps = 0;
  double lr = 1e-3;
};

}  // namespace

int main(int argc, char** argv) {
  try {
    Cli cli("urlb_lite", "reward-free pre-training on GridMaze, fine-tuning on 4 room goals (DyMeCu's claim)");
    ExperimentFlags flags(cli, /*full_seeds=*/10, /*quick_seeds=*/5);
    Settings settings;
    cli.bind(settings.methods, "--methods", "methods (ppo: no pre-training)");
    cli.bind(settings.pretrain_steps, "--pretrain-steps", "reward-free steps (0: by budget)", {0, INT64_MAX});
    cli.bind(settings.finetune_steps, "--finetune-steps", "steps per downstream task (0: by budget)", {0, INT64_MAX});
    cli.bind(settings.lr, "--lr", "PPO learning rate");
    cli.parse(argc, argv);

    const std::vector<std::string> tasks = {"GridMaze-Room0-OneHot", "GridMaze-Room1-OneHot", "GridMaze-Room2-OneHot",
                                            "GridMaze-Room3-OneHot"};
    Experiment ex("urlb_lite", flags);
    const std::vector<std::string> methods = split_list(settings.methods);
    for (const std::string& method : methods) {
      ex.add(method + "/GridMaze", [=, &settings](const RunContext& run) {
        const int64_t pretrain = settings.pretrain_steps > 0 ? settings.pretrain_steps : run.pick(100000, 16000, 1024);
        const int64_t finetune = settings.finetune_steps > 0 ? settings.finetune_steps : run.pick(20000, 4000, 512);
        envs::EnvPtr probe = envs::make_env("GridMaze-NoGoal-OneHot");
        const int64_t D = probe->observation_space().dim(), A = probe->action_space().n;
        PPOCuriosityArgs args;
        args.method = method == "ppo" ? "none" : method;
        args.seed = run.seed;
        args.device = run.device;
        args.learning_rate = settings.lr;
        args.use_extrinsic = false;  // reward-free pre-training: r^i only
        args.ext_coef = 0.0;
        // TI's snapshot interval from the pre-training's gradient steps, so that the FIFO fills during it.
        args.curiosity.ti_snapshot_interval =
            ti_interval_for(curiosity_gradient_steps(args, pretrain), args.curiosity.ti_snapshots);
        PPOCuriosity pretrained(D, A, args);
        RunResult out;
        if (method != "ppo") {
          CuriosityRunSpec spec{args, [] { return envs::make_env("GridMaze-NoGoal-OneHot"); }, pretrain, 1};
          const CuriosityRunResult r = run_curiosity(pretrained, spec);
          out.metric("coverage", r.coverage);
          out.metric("pretrain_seconds", r.train.seconds);
          out.metric("curiosity_seconds", r.train.curiosity_seconds);
          if (r.ti_snapshots_filled >= 0) out.metric("ti_snapshots_filled", double(r.ti_snapshots_filled));
        }
        double total = 0;
        for (size_t k = 0; k < tasks.size(); ++k) {
          PPOCuriosityArgs ft = args;
          ft.method = "none";  // fine-tuning: the extrinsic reward alone
          ft.use_extrinsic = true;
          ft.ext_coef = 1.0;
          ft.seed = run.stream_seed(1 + k);
          PPOCuriosity agent(D, A, ft);
          copy_agent(pretrained, agent);
          const std::string task = tasks[k];
          CuriosityRunSpec spec{ft, [task] { return envs::make_env(task); }, finetune, run.pick(50, 20, 2)};
          const CuriosityRunResult r = run_curiosity(agent, spec);
          out.metric("success_rate_room" + std::to_string(k), r.success_rate);
          // Fine-tuning curve per room: the success of training episodes, in windows of 10% of the run.
          for (const auto& [x, y] : training_success_curve(r.train.episodes, finetune))
            out.curve("finetune_success_room" + std::to_string(k), x, y);
          total += r.success_rate;
        }
        out.metric("success_rate", total / double(tasks.size()));
        return out;
      });
    }
    ex.run();
    std::vector<std::string> shown = {"coverage", "success_rate"};
    for (size_t k = 0; k < tasks.size(); ++k) shown.push_back("success_rate_room" + std::to_string(k));
    shown.push_back("curiosity_seconds");
    shown.push_back("seconds");
    shown.push_back("ti_snapshots_filled");
    ex.report(shown);

    // ---- claim (docs/papers/dymecu.md): DyMeCu >= the best curiosity baseline on most tasks ----
    const auto is_dymecu = [](const std::string& m) { return m.rfind("dymecu", 0) == 0; };
    for (const std::string ours : {"dymecu", "dymecu_own", "dymecu_paramavg"}) {
      if (std::find(methods.begin(), methods.end(), ours) == methods.end()) continue;
      // Per task, DyMeCu against the best other curiosity method by mean (paired over seeds); "most" is 3 of 4.
      std::vector<bench::Verdict> per_task;
      std::string detail;
      for (size_t k = 0; k < tasks.size(); ++k) {
        const std::string metric = "success_rate_room" + std::to_string(k);
        double best = -1;
        std::string best_name;
        for (const auto& m : methods)
          if (!is_dymecu(m) && m != "ppo" && ex.stat(m + "/GridMaze", metric).mean > best) {
            best = ex.stat(m + "/GridMaze", metric).mean;
            best_name = m;
          }
        if (best_name.empty()) continue;
        const Stat d = bench::stat_of(bench::paired_differences(ex.values(ours + "/GridMaze", metric),
                                                                ex.values(best_name + "/GridMaze", metric)));
        per_task.push_back(bench::paired_verdict(d));
        detail += fmt::format("{}{}: {} {:.2f} vs {} {:.2f}, paired {} ({})", detail.empty() ? "" : "; ", tasks[k], ours,
                              ex.stat(ours + "/GridMaze", metric).mean, best_name, best, format_stat(d, 3),
                              bench::verdict_name(per_task.back()));
      }
      if (!per_task.empty())
        ex.claim(ours + " >= the best non-DyMeCu curiosity method on most of the fine-tuning tasks",
                 bench::at_least(per_task, per_task.size() / 2 + 1), detail);
      double best_cov = -1;
      std::string best_name;
      for (const auto& m : methods)
        if (!is_dymecu(m) && m != "ppo" && ex.stat(m + "/GridMaze", "coverage").mean > best_cov) {
          best_cov = ex.stat(m + "/GridMaze", "coverage").mean;
          best_name = m;
        }
      if (!best_name.empty())
        bench::paired_claim(ex, ours + "'s pre-training coverage >= the best non-DyMeCu curiosity method", ours + "/GridMaze",
                            best_name + "/GridMaze", "coverage");
    }
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "urlb_lite: {}\n", e.what());
    return 1;
  }
}
