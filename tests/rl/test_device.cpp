// PPO, SAC and TD3 on a device: one short run on every available non-CPU
// device (ref always; cuda where a GPU is present, skipped elsewhere) logs
// the same losses and reaches the same evaluation as on the CPU, within the
// tolerance below; and the host synchronisations of a PPO iteration on ref,
// counted with transfer_counts(), are the actions of each rollout step plus
// two reads per iteration. Without a GPU, asking for cuda is a clear error.
//
// Tolerance: ref sums in double, the CPU in f32, so a reduction of n terms
// may differ by a few f32 roundings (relative ~1e-7 per op); a short run
// carries that through a few Adam steps. The random draws are the same
// numbers on every device (Philox, drawn on the device or on the CPU's
// generator), so the runs see the same actions, batches and noise. Observed:
// relative differences <= 2e-7 on the losses, absolute <= 2e-9 on PPO's KL
// estimates, which are differences of near-equal numbers. Checked: |a - b| <=
// 1e-4 |a| + 1e-6.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "algorithms/rl/ppo.h"
#include "algorithms/rl/sac.h"
#include "algorithms/rl/td3.h"
#include "tensor/backend.h"
#include "tensor/error.h"
#include "tests/devices_to_test.h"

using namespace gradlab;

namespace {

using gradlab::testing::devices_to_test;

// The CSV log's numeric cells (empty ones as NaN), the wall-clock column (SPS) left out.
std::vector<std::vector<double>> read_log(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  std::vector<std::string> keys;
  {
    std::stringstream hs(line);
    for (std::string key; std::getline(hs, key, ',');) keys.push_back(key);
  }
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream ls(line);
    size_t i = 0;
    for (std::string cell; std::getline(ls, cell, ','); ++i)
      if (i < keys.size() && keys[i] != "SPS") row.push_back(cell.empty() ? std::nan("") : std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

bool close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= 1e-4 * std::abs(a) + 1e-6;
}

// Same rows, each cell within the tolerance; and the same final evaluation.
void check_same_run(const std::string& cpu_csv, const std::string& dev_csv, const rl::TrainResult& cpu,
                    const rl::TrainResult& dev) {
  const auto a = read_log(cpu_csv), b = read_log(dev_csv);
  REQUIRE(a.size() == b.size());
  REQUIRE(a.size() > 1);
  int64_t numbers = 0;
  for (size_t r = 0; r < a.size(); ++r) {
    REQUIRE(a[r].size() == b[r].size());
    for (size_t c = 0; c < a[r].size(); ++c) {
      INFO("row ", r, " column ", c, ": cpu ", a[r][c], " device ", b[r][c]);
      CHECK(close(a[r][c], b[r][c]));
      numbers += !std::isnan(a[r][c]);
    }
  }
  CHECK(numbers > 10);
  // The episodes (continuous actions differ in their last bits, so their returns may too).
  REQUIRE(cpu.episode_returns.size() == dev.episode_returns.size());
  for (size_t e = 0; e < cpu.episode_returns.size(); ++e) {
    CHECK(cpu.episode_returns[e].first == dev.episode_returns[e].first);
    CHECK(close(cpu.episode_returns[e].second, dev.episode_returns[e].second));
  }
  CHECK(close(cpu.final_eval_return, dev.final_eval_return));
}

std::string csv_path(const std::string& algo, Device d) {
  return "/tmp/gradlab_test_rl_device_" + algo + "_" + std::string(device_name(d)) + ".csv";
}

rl::PPOArgs small_ppo(bool continuous) {
  rl::PPOArgs a = continuous ? rl::ppo_continuous_args() : rl::PPOArgs{};
  a.num_envs = 2;
  a.num_steps = 32;
  a.num_minibatches = 2;
  a.update_epochs = 2;
  a.total_timesteps = 2 * a.num_envs * a.num_steps;  // two iterations
  a.hidden = 16;
  a.eval_episodes = 1;
  a.progress_seconds = 0;
  return a;
}

}  // namespace

TEST_CASE("PPO (discrete and continuous) on a device logs what it logs on the CPU") {
  for (const bool continuous : {false, true}) {
    rl::PPOArgs a = small_ppo(continuous);
    const std::string algo = continuous ? "ppo_continuous" : "ppo";
    a.log_csv = csv_path(algo, Device::cpu);
    const rl::TrainResult cpu = rl::train_ppo(a);
    for (const Device d : devices_to_test()) {
      CAPTURE(device_name(d));
      CAPTURE(continuous);
      a.device = d;
      a.log_csv = csv_path(algo, d);
      const rl::TrainResult dev = rl::train_ppo(a);
      check_same_run(csv_path(algo, Device::cpu), a.log_csv, cpu, dev);
    }
  }
}

TEST_CASE("SAC and TD3 on a device log what they log on the CPU") {
  rl::SACArgs s;
  s.total_timesteps = 260;
  s.learning_starts = 150;
  s.batch_size = 32;
  s.hidden = 16;
  s.eval_episodes = 1;
  s.progress_seconds = 0;
  rl::TD3Args t;
  t.total_timesteps = s.total_timesteps;
  t.learning_starts = s.learning_starts;
  t.batch_size = s.batch_size;
  t.hidden = s.hidden;
  t.eval_episodes = 1;
  t.progress_seconds = 0;
  s.log_csv = csv_path("sac", Device::cpu);
  t.log_csv = csv_path("td3", Device::cpu);
  const rl::TrainResult sac_cpu = rl::train_sac(s), td3_cpu = rl::train_td3(t);
  for (const Device d : devices_to_test()) {
    CAPTURE(device_name(d));
    s.device = t.device = d;
    s.log_csv = csv_path("sac", d);
    t.log_csv = csv_path("td3", d);
    const rl::TrainResult sac_dev = rl::train_sac(s);
    check_same_run(csv_path("sac", Device::cpu), s.log_csv, sac_cpu, sac_dev);
    const rl::TrainResult td3_dev = rl::train_td3(t);
    check_same_run(csv_path("td3", Device::cpu), t.log_csv, td3_cpu, td3_dev);
  }
}

TEST_CASE("a PPO iteration on ref reads back the actions of each step and two batches of scalars") {
  // CartPole: the greedy evaluation's return is its length, one read per step.
  rl::PPOArgs a = small_ppo(false);
  a.device = Device::ref;
  const int64_t iterations = a.total_timesteps / (a.num_envs * a.num_steps);
  const TransferCounts before = transfer_counts();
  const rl::TrainResult r = rl::train_ppo(a);
  const TransferCounts after = transfer_counts();
  const int64_t eval_steps = int64_t(std::lround(r.final_eval_return));
  // Per iteration: num_steps action reads (the env steps on the CPU), one
  // read of the rollout's values for GAE, one of the update's logged scalars;
  // none per minibatch. Then the evaluation's actions.
  CHECK(int64_t(after.to_host - before.to_host) == iterations * (a.num_steps + 2) + eval_steps);
  CHECK(after.from_host > before.from_host);  // the observations did go there
}

TEST_CASE("an algorithm asked for cuda without one says why") {
  if (backend_available(Device::cuda)) return;  // a GPU is here: the runs above used it
  // A build without CUDA, or a CUDA build on a machine without a GPU, says which.
  const auto says_why = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      const std::string m = e.what();
      return m.find("CUDA tensors need a CUDA build") != std::string::npos ||
             m.find("cuda tensor requested, but no GPU is present") != std::string::npos;
    }
    return false;
  };
  rl::PPOArgs p = small_ppo(false);
  p.device = Device::cuda;
  rl::SACArgs s;
  s.device = Device::cuda;
  s.total_timesteps = 10;
  CHECK(says_why([&] { rl::train_ppo(p); }));
  CHECK(says_why([&] { rl::train_sac(s); }));
  CHECK(says_why([] { device_from_flag("cuda"); }));
}
