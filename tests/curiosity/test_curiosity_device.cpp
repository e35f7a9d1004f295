// Every curiosity module, and PPO with curiosity, on every available non-CPU
// device (ref always; cuda where a GPU is present): ICM, ICM with stopped
// gradients, RND and DyMeCu's variants give the same rewards and losses over
// one update as on the CPU; Disagreement, RE3, APT and TI's variants the same
// over three updates (the TI snapshot FIFO fills and wraps, APT's running mean
// folds in four batches); two PPO rollouts with RND the same episodes,
// intrinsic rewards and greedy actions. On ref, the host reads of one
// reward() and one update() are counted (transfer_counts()) and pinned; a batch
// on another device than the module's, and a device that is not there, are
// clear errors.
//
// Tolerance, as in tests/rl/test_device.cpp: ref sums in double and the CPU
// in f32, so the networks' outputs differ in the last f32 bits and Adam carries
// that into the weights; the random draws (weights, minibatch order, RND's row
// mask, the policy's samples) are the same numbers on every device. Observed
// relative differences on ref: <= 1e-6 after one update (ICM, RND, DyMeCu),
// <= 3e-7 after three (Disagreement, RE3, APT, TI; <= 5e-7 after ten), about
// one or two f32 roundings of the result. Checked: |a - b| <= 1e-4 |a| + 1e-6.
// RE3's encoder is fixed, so its rewards differ only by the encoder's and the
// k-NN's rounding; APT's running mean and the k-NN distances are f64 on every
// device; TI's nuclear norm runs the same eigensolver (on the host) on every
// device, so it adds nothing beyond the Gram matrices' rounding.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "algorithms/rl/curiosity/ppo_curiosity.h"
#include "algorithms/rl/curiosity/temporal_inconsistency.h"
#include "envs/env.h"
#include "envs/vector_env.h"
#include "tensor/backend.h"
#include "tensor/error.h"
#include "tests/curiosity/curiosity_test_helpers.h"
#include "tests/devices_to_test.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::rl::curiosity;
namespace ct = gradlab::rl::curiosity::test;

namespace {

using gradlab::testing::devices_to_test;

bool close(double a, double b) { return std::abs(a - b) <= 1e-4 * std::abs(a) + 1e-6; }

void check_all_close(const std::vector<double>& cpu, const std::vector<double>& dev) {
  REQUIRE(cpu.size() == dev.size());
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("value ", i, ": cpu ", cpu[i], " device ", dev[i]);
    CHECK(close(cpu[i], dev[i]));
  }
}

// Rewards of a batch before an update, the update's loss, rewards after.
std::vector<double> one_update(const std::string& method, Device device) {
  CuriosityOptions o = ct::tiny(3, 4, 16, 8);
  o.device = device;
  const std::unique_ptr<IntrinsicReward> m = make_intrinsic_reward(method, o, 11);
  Generator gen(2);
  const TransitionBatch b{randn({24, 3}, gen).to(device), randint(0, 4, {24}, gen).to(device),
                          randn({24, 3}, gen).to(device)};
  const Tensor r = m->reward(b);
  CHECK(r.device() == device);  // computed there, not on the CPU
  std::vector<double> out = ct::vals(r);
  out.push_back(m->update(b));
  const std::vector<double> after = ct::vals(m->reward(b));
  out.insert(out.end(), after.begin(), after.end());
  return out;
}

// The options of the multi-update runs: an update is 4 gradient steps and TI
// takes a snapshot every 2, so after three updates it has taken 1 + 6: its FIFO
// of 5 has filled and wrapped. APT and RE3 average 5 neighbours of 24.
CuriosityOptions multi_options(Device device, bool ti_normalize) {
  CuriosityOptions o = ct::tiny(3, 4, 16, 8);
  o.ti_snapshot_interval = 2;
  o.ti_frobenius_normalize = ti_normalize;
  o.apt_k = 5;
  o.device = device;
  return o;
}

// A batch of 24 random transitions drawn on the CPU, sent to the device.
TransitionBatch random_batch(Generator& gen, Device device) {
  return {randn({24, 3}, gen).to(device), randint(0, 4, {24}, gen).to(device), randn({24, 3}, gen).to(device)};
}

// Rewards and loss of three rounds of reward() then update(), each on a new
// batch, then the rewards of a fourth batch.
std::vector<double> three_updates(const std::string& method, Device device, bool ti_normalize = false) {
  const std::unique_ptr<IntrinsicReward> m = make_intrinsic_reward(method, multi_options(device, ti_normalize), 11);
  Generator gen(2);
  std::vector<double> out;
  for (int round = 0; round < 4; ++round) {
    const TransitionBatch b = random_batch(gen, device);
    const Tensor r = m->reward(b);
    CHECK(r.device() == device);  // computed there, not on the CPU
    const std::vector<double> rv = ct::vals(r);
    out.insert(out.end(), rv.begin(), rv.end());
    if (round < 3) out.push_back(m->update(b));
  }
  if (const auto* ti = dynamic_cast<const TemporalInconsistency*>(m.get())) CHECK(ti->snapshots_taken() == 7);
  return out;
}

const std::vector<std::string> kMultiUpdateMethods{"disagreement", "re3", "apt", "ti", "ti_uniform", "ti_ema"};

}  // namespace

TEST_CASE("ICM, RND and DyMeCu: one update on a device as on the CPU") {
  const gradlab::test::ThreadCountGuard pin(1);
  for (const std::string method : {"icm", "icm_stopgrad", "rnd", "dymecu", "dymecu_own", "dymecu_paramavg"}) {
    CAPTURE(method);
    const std::vector<double> cpu = one_update(method, Device::cpu);
    for (const Device d : devices_to_test()) {
      CAPTURE(device_name(d));
      check_all_close(cpu, one_update(method, d));
    }
  }
}

TEST_CASE("Disagreement, RE3, APT and TI: three updates on a device as on the CPU") {
  const gradlab::test::ThreadCountGuard pin(1);
  for (const std::string& method : kMultiUpdateMethods) {
    CAPTURE(method);
    const std::vector<double> cpu = three_updates(method, Device::cpu);
    for (const Device d : devices_to_test()) {
      CAPTURE(device_name(d));
      check_all_close(cpu, three_updates(method, d));
    }
  }
  // TI's Frobenius normalisation ||P||_* / (||P||_F sqrt(max(K, d))).
  for (const std::string method : {"ti", "ti_ema"}) {
    CAPTURE(method);
    const std::vector<double> cpu = three_updates(method, Device::cpu, true);
    for (const Device d : devices_to_test()) {
      CAPTURE(device_name(d));
      check_all_close(cpu, three_updates(method, d, true));
    }
  }
}

TEST_CASE("every module on ref: the host reads of one reward() and one update()") {
  // Every read from the device (to_host), named:
  //   check_batch: the actions' min and max, read together (reward() and update() each check their batch;
  //     RND's update() checks it twice, before its statistics and in the shared training loop);
  //   update(): the last pass's loss sum, read once after the passes;
  //   TI's reward(): the Gram matrices P P^T [N, k, k], read once for the host eigensolver (nuclear_norm.h);
  //   RND: the next observations for its host running statistics (in update(), and in the first reward()).
  // Everything else stays on the device: the one-hot actions (one_hot counts
  // bad indices there), APT's running mean of k-NN distances, TI's snapshot weights.
  // And every copy to the device (from_host), a small host-made tensor each:
  //   update(): per minibatch (4), its row indices, and per forward pass
  //   APT's positives 0..n-1 of InfoNCE, RND's statistics' mean and 1/std;
  //   reward(): the same per forward pass, and TI's norms [N] from the host.
  struct Expected {
    std::string method;
    uint64_t reward_reads, update_reads, reward_sends, update_sends;
  };
  const std::vector<Expected> expected{
      {"icm", 1, 2, 0, 4},          {"icm_stopgrad", 1, 2, 0, 4}, {"rnd", 2, 4, 2, 12},
      {"dymecu", 1, 2, 0, 4},       {"dymecu_own", 1, 2, 0, 4},   {"dymecu_paramavg", 1, 2, 0, 4},
      {"disagreement", 1, 2, 0, 4}, {"re3", 1, 0, 0, 0},          {"apt", 1, 2, 0, 8},
      {"ti", 2, 2, 1, 4},           {"ti_uniform", 2, 2, 1, 4},   {"ti_ema", 2, 2, 1, 4}};
  REQUIRE(expected.size() == intrinsic_reward_names().size());
  for (const Expected& e : expected) {
    CAPTURE(e.method);
    const std::unique_ptr<IntrinsicReward> m = make_intrinsic_reward(e.method, multi_options(Device::ref, false), 11);
    Generator gen(2);
    const TransitionBatch b = random_batch(gen, Device::ref);
    const TransferCounts before = transfer_counts();
    const Tensor r = m->reward(b);
    const TransferCounts after_reward = transfer_counts();
    m->update(b);
    const TransferCounts after_update = transfer_counts();
    CHECK(r.device() == Device::ref);
    CHECK(after_reward.to_host - before.to_host == e.reward_reads);
    CHECK(after_update.to_host - after_reward.to_host == e.update_reads);  // RE3 does not train: nothing
    CHECK(after_reward.from_host - before.from_host == e.reward_sends);
    CHECK(after_update.from_host - after_reward.from_host == e.update_sends);
  }
}

TEST_CASE("a batch on another device than the module's, or a device that is not there, is a clear error") {
  CuriosityOptions o = ct::tiny(3, 4, 16, 8);
  o.device = Device::ref;
  Generator gen(2);
  const TransitionBatch on_cpu = random_batch(gen, Device::cpu);
  for (const std::string& method : intrinsic_reward_names()) {
    CAPTURE(method);
    const std::unique_ptr<IntrinsicReward> m = make_intrinsic_reward(method, o, 1);
    const std::string message = method + ": the batch is on cpu, the module on ref";  // names the module
    CHECK_THROWS_WITH_AS(m->reward(on_cpu), doctest::Contains(message.c_str()), Error);
    if (method != "re3")  // RE3 trains nothing, so its update() looks at no batch
      CHECK_THROWS_WITH_AS(m->update(on_cpu), doctest::Contains(message.c_str()), Error);
  }
  if (!backend_available(Device::cuda)) {
    o.device = Device::cuda;
    CHECK_THROWS_WITH_AS(make_intrinsic_reward("ti", o, 1),
                         doctest::Contains("make_intrinsic_reward: 'ti' cannot run on device cuda"), Error);
  }
}

TEST_CASE("PPO with RND: two rollouts on a device as on the CPU") {
  const gradlab::test::ThreadCountGuard pin(1);
  auto run = [](Device device) {
    PPOCuriosityArgs a;
    a.method = "rnd";
    a.seed = 3;
    a.num_envs = 2;
    a.num_steps = 32;
    a.hidden = 16;
    a.curiosity.hidden = 16;
    a.device = device;
    PPOCuriosity agent(49, 4, a);
    envs::VectorEnv vec([] { return envs::make_env("GridMaze-N7-FarGoal-OneHot"); }, a.num_envs);
    const TrainStats s = agent.train(vec, 2 * a.num_envs * a.num_steps, 5);
    std::vector<double> out{double(s.env_steps), s.mean_intrinsic_raw, double(s.episodes.size())};
    for (const EpisodeRecord& e : s.episodes) out.insert(out.end(), {double(e.global_step), e.extrinsic_return});
    // The greedy actions of the first eight cells (one-hot observations).
    std::vector<float> cells(8 * 49, 0.0f);
    for (int i = 0; i < 8; ++i) cells[size_t(i * 49 + i)] = 1.0f;
    const std::vector<double> greedy = ct::vals(agent.act(from_vector(cells, {8, 49}), true));
    out.insert(out.end(), greedy.begin(), greedy.end());
    return out;
  };
  const std::vector<double> cpu = run(Device::cpu);
  for (const Device d : devices_to_test()) {
    CAPTURE(device_name(d));
    check_all_close(cpu, run(d));
  }
}
