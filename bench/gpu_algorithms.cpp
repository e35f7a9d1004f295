// build/bench/gpu_algorithms: the algorithms on the GPU against the CPU, in
// one run on one machine (build/bench/gpu times the kernels and the GPT step
// against cuBLAS and PyTorch):
//   ppo_cartpole   rl::train_ppo with PPOArgs' defaults (4 envs x 128 steps, 64-64 tanh), env steps/s
//   sac_pendulum   rl::train_sac with SACArgs' defaults (2x256, batch 256), env steps/s
//   td3_pendulum   rl::train_td3 with TD3Args' defaults (2x256, batch 256), env steps/s (not run by default)
//   reward_model   wall time of `align_baselines --methods rm --seeds 1` (the SFT policy, then the reward model)
//   dpo            wall time of `align_baselines --methods dpo --seeds 1` (the SFT policy, then DPO)
//   up_rlhf        wall time of `up_rlhf --methods up_rlhf --seeds 1` (SFT, the reward models and their LoRA
//                  ensembles, then PPO with the uncertainty penalty)
// Each case runs on --device and on the CPU, alternating, --runs times each.
// The RL runs (bench/rl_timed_runs.h, as rl_throughput) keep their networks,
// optimiser state and buffers on the device and step the environments on the
// CPU; their rate is TrainResult's sps. The experiments run as child
// processes, at the --experiment-budget, with --device set and their output in
// a temporary folder; the time is the child's wall clock, start-up (and the
// CUDA context) included. The ratio is device / cpu: above 1 the GPU steps
// faster, and for the times (lower is better) below 1 the GPU is faster.
// Records: {"bench":"gpu", "case":..., "metric":"steps_per_s" or "seconds",
// "baseline":"cpu", "ratio":...}.
//
// These models are small (the RL networks, d_model 48 in the preference
// world), so launches, not arithmetic, bound the GPU. What replaying a CUDA
// graph saves on a step of this size is bench/gpu's mlp_train_small_graph and
// gpt_train_small_graph.
//
// Without a GPU, --smoke checks this binary on the ref backend (its figures say
// nothing about a GPU); a longer run prints why and exits 0.
//   build/bench/gpu_algorithms --jsonl bench/results/gpu/gpu.jsonl
//   build/bench/gpu_algorithms --cases ppo_cartpole,sac_pendulum --runs 3
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "bench/rl_timed_runs.h"
#include "tensor/device.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

using namespace gradlab;
using namespace gradlab::bench;
namespace fs = std::filesystem;

namespace {

struct Args {
  Device device = Device::cuda;
  std::string cases = "ppo_cartpole,sac_pendulum,reward_model,dpo,up_rlhf";
  int64_t runs = 1;
  int64_t threads = 1;
  int64_t seed = 1;
  int64_t ppo_steps = 10240;
  int64_t offpolicy_steps = 2000;
  int64_t learning_starts = 1000;
  std::string experiment_budget = "quick";
  std::string jsonl;
  bool smoke = false;
};

// One figure of a case on one device, summed over its runs.
struct Measure {
  double amount = 0, seconds = 0;  // RL: env steps and their seconds; experiments: runs and their seconds
  double min = 0, max = 0;         // the runs' rates (RL) or times (experiments)
  int64_t runs = 0;
  void add(double amount_of_run, double seconds_of_run, double figure_of_run) {
    min = runs == 0 ? figure_of_run : std::min(min, figure_of_run);
    max = runs == 0 ? figure_of_run : std::max(max, figure_of_run);
    amount += amount_of_run;
    seconds += seconds_of_run;
    ++runs;
  }
};

struct Case {
  std::string name;
  bool is_rate;  // steps/s (higher is better), else seconds (lower is better)
  std::function<void(Device, Measure&)> run_once;
};

// The folder of this executable: the experiment binaries are its siblings.
fs::path own_folder() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  GL_CHECK(!ec, "cannot read /proc/self/exe: {}", ec.message());
  return exe.parent_path();
}

// The last `lines` lines of a text file, for an error message.
std::string tail_of(const fs::path& file, int lines) {
  std::ifstream in(file);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > size_t(lines) ? all.size() - size_t(lines) : 0; i < all.size(); ++i)
    out += "\n  " + all[i];
  return out;
}

// Runs `binary args --device D --out work/run` with its output in work/log; returns the wall seconds.
double time_experiment(const fs::path& binary, const std::string& args, Device device, const fs::path& work) {
  GL_CHECK(fs::exists(binary), "{} is missing: the experiments run from the folder of this binary (make bench)",
           binary.string());
  const fs::path out = work / "run", log = work / "log";
  fs::remove_all(out);
  const std::string cmd = fmt::format("{} {} --device {} --out {} > {} 2>&1", shell_quote(binary.string()), args,
                                      device_name(device), shell_quote(out.string()), shell_quote(log.string()));
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(cmd.c_str());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int code = status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  GL_CHECK(code == 0, "`{} {} --device {}` failed (exit {}); its output ends:{}", binary.filename().string(), args,
           device_name(device), code, tail_of(log, 15));
  return seconds;
}

std::string fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }

}  // namespace

int main(int argc, char** argv) {
  Cli cli("gpu_algorithms",
          "PPO, SAC, the reward model, DPO and UP-RLHF on the GPU against the CPU: env steps/s and experiment wall "
          "time, in one run.");
  Args args;
  cli.bind(args.device, "--device", "the device measured against the CPU: cuda (a CUDA build with a GPU) or ref");
  cli.bind(args.cases, "--cases", "cases to run: ppo_cartpole, sac_pendulum, td3_pendulum, reward_model, dpo, up_rlhf");
  cli.bind(args.runs, "--runs", "runs per case and device, alternating device and CPU", {1, 100});
  cli.bind(args.threads, "--threads", "OpenMP threads of the RL runs, on both sides", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed of every run", {0, INT64_MAX});
  cli.bind(args.ppo_steps, "--ppo-steps", "PPO environment steps (whole rollouts of 4 x 128)", {512, INT64_MAX});
  cli.bind(args.offpolicy_steps, "--offpolicy-steps", "SAC and TD3 environment steps", {1, INT64_MAX});
  cli.bind(args.learning_starts, "--learning-starts",
           "SAC and TD3: uniformly random actions, no updates, before this step", {0, INT64_MAX});
  cli.bind(args.experiment_budget, "--experiment-budget",
           "the experiments' budget: smoke, quick (make reproduce's) or full");
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per case to this file");
  cli.bind_flag(args.smoke, "--smoke",
                "a short check of the binary: 512 PPO steps, 110 SAC/TD3 steps learning from 100, the experiments "
                "at --smoke; without a GPU, on ref");
  cli.parse(argc, argv);
  if (args.device == Device::cpu) {
    std::fprintf(stderr, "gpu_algorithms: --device: cpu is the baseline; name the device to compare (cuda or ref)\n");
    return 2;
  }
  try {
    set_num_threads(int(args.threads));
    if (args.device == Device::cuda && !cuda_available()) {
      if (!args.smoke || cli.given("--device")) {
        std::printf("gpu_algorithms: skipped: no CUDA device (%s)\n", cuda_device_name().c_str());
        return 0;
      }
      std::printf("gpu_algorithms: no CUDA device (%s); this smoke run checks the binary on ref instead\n",
                  cuda_device_name().c_str());
      args.device = Device::ref;
    }
    args.ppo_steps = cli.budget_default<int64_t>(args.smoke, "--ppo-steps", args.ppo_steps, 512);
    args.offpolicy_steps = cli.budget_default<int64_t>(args.smoke, "--offpolicy-steps", args.offpolicy_steps, 110);
    args.learning_starts = cli.budget_default<int64_t>(args.smoke, "--learning-starts", args.learning_starts, 100);
    args.experiment_budget =
        cli.budget_default<std::string>(args.smoke, "--experiment-budget", args.experiment_budget, "smoke");
    GL_CHECK(args.learning_starts < args.offpolicy_steps,
             "--learning-starts {} leaves no update in --offpolicy-steps {}", args.learning_starts,
             args.offpolicy_steps);
    GL_CHECK(args.experiment_budget == "smoke" || args.experiment_budget == "quick" || args.experiment_budget == "full",
             "--experiment-budget: unknown budget '{}' (smoke, quick or full)", args.experiment_budget);

    const uint64_t seed = uint64_t(args.seed);
    const std::string budget = args.experiment_budget == "full" ? "" : " --" + args.experiment_budget;
    const fs::path bin = own_folder();
    const fs::path work = fs::temp_directory_path() / fmt::format("gradlab_gpu_algorithms_{}", getpid());
    fs::create_directories(work);
    struct RemoveWork {
      fs::path p;
      ~RemoveWork() {
        std::error_code ec;
        fs::remove_all(p, ec);
      }
    } remove_work{work};

    auto rl_case = [&](const std::string& name, std::function<rl::TrainResult(Device)> train) {
      return Case{name, true, [train](Device d, Measure& m) {
                    const rl::TrainResult r = train(d);
                    m.add(double(r.env_steps), r.seconds, r.sps);
                  }};
    };
    auto experiment_case = [&](const std::string& name, const std::string& binary, const std::string& methods) {
      const std::string flags =
          fmt::format("--methods {} --seeds 1 --seed {} --threads 1{}", methods, args.seed, budget);
      return Case{name, false, [=](Device d, Measure& m) {
                    const double s = time_experiment(bin / binary, flags, d, work);
                    m.add(1, s, s);
                  }};
    };
    std::vector<Case> cases;
    for (const std::string& k : split_list(args.cases)) {
      if (k == "ppo_cartpole")
        cases.push_back(rl_case(k, [&](Device d) { return timed_ppo_cartpole(seed, d, args.ppo_steps); }));
      else if (k == "sac_pendulum")
        cases.push_back(rl_case(
            k, [&](Device d) { return timed_sac_pendulum(seed, d, args.offpolicy_steps, args.learning_starts); }));
      else if (k == "td3_pendulum")
        cases.push_back(rl_case(
            k, [&](Device d) { return timed_td3_pendulum(seed, d, args.offpolicy_steps, args.learning_starts); }));
      else if (k == "reward_model")
        cases.push_back(experiment_case(k, "align_baselines", "rm"));
      else if (k == "dpo")
        cases.push_back(experiment_case(k, "align_baselines", "dpo"));
      else if (k == "up_rlhf")
        cases.push_back(experiment_case(k, "up_rlhf", "up_rlhf"));
      else
        fail("--cases: unknown case '{}' (ppo_cartpole, sac_pendulum, td3_pendulum, reward_model, dpo, up_rlhf)", k);
    }

    const std::string device_label =
        args.device == Device::cuda ? cuda_device_name() : std::string(device_name(args.device));
    std::printf(
        "gpu_algorithms: %s against the CPU (%lld thread(s)), %lld run(s) each; PPO %lld steps; SAC and TD3 %lld "
        "steps, learning from step %lld; experiments at the %s budget\n",
        device_label.c_str(), (long long)args.threads, (long long)args.runs, (long long)args.ppo_steps,
        (long long)args.offpolicy_steps, (long long)args.learning_starts, args.experiment_budget.c_str());

    Jsonl out(args.jsonl);
    Table table(
        {"case", "unit", std::string(device_name(args.device)), "min-max", "cpu", "min-max", "ratio (device/cpu)"});
    for (const Case& c : cases) {
      Measure on_device, on_cpu;
      for (int64_t r = 0; r < args.runs; ++r) {
        // Alternate which side goes first, so that a slow spell of a shared host weighs on both.
        const bool device_first = r % 2 == 0;
        c.run_once(device_first ? args.device : Device::cpu, device_first ? on_device : on_cpu);
        c.run_once(device_first ? Device::cpu : args.device, device_first ? on_cpu : on_device);
        std::fprintf(stderr, "[gpu_algorithms] %s: run %lld of %lld done\n", c.name.c_str(), (long long)r + 1,
                     (long long)args.runs);
      }
      // RL: all the steps over all their seconds; experiments: the mean wall time.
      const double dev = c.is_rate ? on_device.amount / on_device.seconds : on_device.seconds / on_device.amount;
      const double cpu = c.is_rate ? on_cpu.amount / on_cpu.seconds : on_cpu.seconds / on_cpu.amount;
      const int decimals = c.is_rate ? 1 : 2;
      Jsonl::Record rec{.bench = "gpu",
                        .case_name = c.name,
                        .metric = c.is_rate ? "steps_per_s" : "seconds",
                        .value = dev,
                        .unit = c.is_rate ? "steps/s" : "s",
                        .threads = int(args.threads),
                        .baseline = "cpu",
                        .baseline_value = cpu};
      rec.extra["device"] = device_label;
      rec.extra["gradlab_device"] = std::string(device_name(args.device));
      rec.numbers["runs"] = double(args.runs);
      if (c.is_rate) rec.numbers["steps"] = on_device.amount / double(args.runs);
      if (!c.is_rate) rec.extra["budget"] = args.experiment_budget;
      out.write(rec);
      table.row({c.name, c.is_rate ? "steps/s" : "s", fixed(dev, decimals),
                 fixed(on_device.min, decimals) + "-" + fixed(on_device.max, decimals), fixed(cpu, decimals),
                 fixed(on_cpu.min, decimals) + "-" + fixed(on_cpu.max, decimals), fixed(dev / cpu, 3)});
    }
    std::fputs(table.str().c_str(), stdout);
    std::printf("ratio: above 1 for steps/s, below 1 for seconds, the %s side is faster\n",
                std::string(device_name(args.device)).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_algorithms: %s\n", e.what());
    return 1;
  }
  return 0;
}
