// The curiosity modules that run on a device (ICM, ICM with stopped
// gradients, RND, DyMeCu and its memory variants) and PPO with curiosity on
// every available non-CPU device (ref always; cuda where a GPU is present):
// one update gives the same rewards and losses as on the CPU, and two PPO
// rollouts with RND the same episodes, intrinsic rewards and greedy actions.
// A module that runs on the CPU only says so for any other device.
//
// Tolerance, as in tests/rl/test_device.cpp: ref sums in double and the CPU
// in f32 (observed relative differences <= 1e-6 after a few Adam steps); the
// random draws (weights, minibatch order, RND's row mask, the policy's
// samples) are the same numbers on every device. Checked: |a - b| <= 1e-4 |a|
// + 1e-6.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "algorithms/rl/curiosity/ppo_curiosity.h"
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
  // The others run on the CPU only, and say so.
  CuriosityOptions o = ct::tiny(3, 4, 16, 8);
  o.device = Device::ref;
  CHECK_THROWS_WITH_AS(make_intrinsic_reward("disagreement", o, 1),
                       doctest::Contains("make_intrinsic_reward: 'disagreement' runs on the CPU only for now, got "
                                         "device ref"),
                       Error);
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
