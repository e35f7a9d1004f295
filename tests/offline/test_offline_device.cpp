// The offline learners on a device: SAC with CQL's penalty and TD3+BC, a
// few updates on the same batches, report the same losses on every available
// non-CPU device (ref always; cuda where a GPU is present) as on the CPU; and
// MOPO and ORPO, one gradient step after a round of model rollouts, end with
// the same evaluation and rollout statistics.
//
// Tolerance, as in tests/rl/test_device.cpp: ref sums in double and the CPU
// in f32, so results differ by f32 roundings carried through a few Adam steps
// (observed relative <= 1e-6); the random draws are the same numbers on every
// device. Checked: |a - b| <= 1e-4 |a| + 1e-5.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "algorithms/rl/offline/cql.h"
#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "algorithms/rl/offline/mopo.h"
#include "algorithms/rl/offline/offline_data.h"
#include "algorithms/rl/offline/orpo.h"
#include "algorithms/rl/offline/td3_bc.h"
#include "envs/env.h"
#include "envs/offline_toys.h"
#include "tensor/backend.h"
#include "tests/devices_to_test.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::rl;

namespace {

using gradlab::testing::devices_to_test;

bool close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= 1e-4 * std::abs(a) + 1e-5;
}

// Per update: critic, actor and alpha (or q_mean) of each learner, then the
// deterministic actions of four states.
std::vector<double> sac_cql_run(const envs::Dataset& data, Device device) {
  const envs::EnvPtr probe = envs::make_env("SquareToy");
  SACLearnerOptions o;
  o.hidden = {16, 16};
  o.device = device;
  SACLearner learner(data.obs_dim(), probe->action_space(), o, 7);
  CQLOptions c;
  c.num_samples = 4;
  c.lagrangian = true;  // the Lagrangian's alpha' lives on the device too
  c.device = device;
  CQLPenalty penalty(probe->action_space(), c, 7);
  const ReplayBuffer buffer = dataset_buffer(data, device);
  Generator gen(5);
  std::vector<double> out;
  for (int k = 0; k < 4; ++k) {
    const SACLearner::Stats s = learner.update(
        buffer.sample(32, gen), [&](const ReplayBuffer::Batch& b, SACLearner& l) { return penalty(b, l); });
    out.insert(out.end(), {s.critic_loss, s.actor_loss, s.alpha, s.q_mean, s.regulariser, penalty.weight()});
  }
  const Tensor acted = learner.act(buffer.gather({0, 1, 2, 3}).obs, true);
  CHECK(acted.device() == device);  // computed there, not on the CPU
  const std::vector<double> a = acted.to_vector<double>();
  out.insert(out.end(), a.begin(), a.end());
  return out;
}

std::vector<double> td3_bc_run(const envs::Dataset& data, Device device) {
  const envs::EnvPtr probe = envs::make_env("SquareToy");
  TD3BCLearnerOptions o;
  o.hidden = {16, 16};
  o.device = device;
  TD3BCLearner learner(data.obs_dim(), probe->action_space(), o, 7);
  const ReplayBuffer buffer = dataset_buffer(data, device);
  Generator gen(5), noise(6);
  std::vector<double> out;
  for (int k = 0; k < 4; ++k) {
    const TD3BCLearner::Stats s = learner.update(buffer.sample(32, gen));
    out.insert(out.end(), {s.critic_loss, s.actor_loss, s.q_mean});
  }
  const Tensor obs = buffer.gather({0, 1, 2, 3}).obs;
  for (const Tensor& t : {learner.act(obs), learner.act_noisy(obs, 0.1, noise)}) {
    const std::vector<double> a = t.to_vector<double>();
    out.insert(out.end(), a.begin(), a.end());
  }
  return out;
}

void check_all_close(const std::vector<double>& cpu, const std::vector<double>& dev) {
  REQUIRE(cpu.size() == dev.size());
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("value ", i, ": cpu ", cpu[i], " device ", dev[i]);
    CHECK(close(cpu[i], dev[i]));
  }
}

}  // namespace

TEST_CASE("SAC with CQL's penalty and TD3+BC update on a device as on the CPU") {
  const test::ThreadCountGuard pin(1);
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 200, 1);
  const std::vector<double> cql_cpu = sac_cql_run(data, Device::cpu), td3_cpu = td3_bc_run(data, Device::cpu);
  for (const Device d : devices_to_test()) {
    CAPTURE(device_name(d));
    check_all_close(cql_cpu, sac_cql_run(data, d));
    check_all_close(td3_cpu, td3_bc_run(data, d));
  }
}

TEST_CASE("MOPO and ORPO, a round of model rollouts and a gradient step, on a device as on the CPU") {
  const test::ThreadCountGuard pin(1);
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 300, 1);
  DynamicsEnsembleOptions dyn;
  dyn.members = 3;
  dyn.elites = 2;
  dyn.hidden = {16, 16};
  dyn.weight_decay = {2.5e-5, 5e-5, 1e-4};
  dyn.max_epochs = 2;
  auto model = std::make_shared<DynamicsEnsemble>(2, 2, dyn, 3);
  model->train(data);  // on the CPU: the ensemble and its rollouts stay there on every device
  MOPOArgs m;
  m.gradient_steps = 2;
  m.batch_size = 32;
  m.rollout_batch = 16;
  m.horizon = 2;
  m.learner.hidden = {16, 16};
  m.eval_every = 0;
  m.eval_episodes = 1;
  m.progress_seconds = 0;
  ORPOArgs o;
  o.gradient_steps = 2;
  o.batch_size = 32;
  o.rollout_batch = 16;
  o.horizon = o.rollout_horizon = 2;
  o.rollout_learner.hidden = o.output_learner.hidden = {16, 16};
  o.eval_every = 0;
  o.eval_episodes = 1;
  o.progress_seconds = 0;
  const OfflineResult mopo_cpu = train_mopo(m, data, model), orpo_cpu = train_orpo(o, data, model);
  for (const Device d : devices_to_test()) {
    CAPTURE(device_name(d));
    m.device = o.device = d;
    const OfflineResult mopo = train_mopo(m, data, model), orpo = train_orpo(o, data, model);
    CHECK(close(mopo_cpu.final_return, mopo.final_return));
    CHECK(close(mopo_cpu.diagnostics.at("rollout_uncertainty"), mopo.diagnostics.at("rollout_uncertainty")));
    CHECK(close(orpo_cpu.final_return, orpo.final_return));
    for (const char* key : {"rollout_uncertainty_optimistic", "rollout_uncertainty_output", "rollout_policy_return"}) {
      CAPTURE(key);
      CHECK(close(orpo_cpu.diagnostics.at(key), orpo.diagnostics.at(key)));
    }
  }
}
