// The offline learners on a device: SAC with CQL's penalty and TD3+BC, a
// few updates on the same batches, report the same losses on every available
// non-CPU device (ref always; cuda where a GPU is present) as on the CPU; the
// dynamics ensemble, trained two epochs there, has the same report,
// standardisation, weights, predictions and model steps; MOPO and ORPO, with
// the ensemble and its rollouts on the device, one gradient step after a
// round of model rollouts, end with the same evaluation and rollout
// statistics. On ref, the ensemble's host crossings per training epoch, per
// model step and per rollout step, and the learners' reads per update, are
// counted with transfer_counts().
//
// Tolerance, as in tests/rl/test_device.cpp: ref sums in double and the CPU
// in f32, so results differ by f32 roundings carried through a few Adam steps
// (observed: relative <= 1e-6 on the learners' losses; absolute <= 1e-6 on the
// ensemble's weights, predictions and steps after its eight Adam steps); the
// random draws are the same numbers on every device, so the splits,
// minibatches, elite choices and noise are the same. Checked:
// |a - b| <= 1e-4 |a| + 1e-5.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "algorithms/rl/offline/cql.h"
#include "algorithms/rl/offline/dynamics_ensemble.h"
#include "algorithms/rl/offline/model_rollouts.h"
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
    learner.update(buffer.sample(32, gen), [&](const ReplayBuffer::Batch& b, SACLearner& l) { return penalty(b, l); });
    const SACLearner::Stats s = learner.stats();
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
    learner.update(buffer.sample(32, gen));
    const TD3BCLearner::Stats s = learner.stats();
    out.insert(out.end(), {s.critic_loss, s.actor_loss, s.q_mean});
  }
  const Tensor obs = buffer.gather({0, 1, 2, 3}).obs;
  for (const Tensor& t : {learner.act(obs), learner.act_noisy(obs, 0.1, noise)}) {
    const std::vector<double> a = t.to_vector<double>();
    out.insert(out.end(), a.begin(), a.end());
  }
  return out;
}

// The ensemble MOPO and ORPO use in these tests: 3 members of 2-16-16-6, two epochs of 64-row minibatches.
DynamicsEnsembleOptions small_dynamics(Device device) {
  DynamicsEnsembleOptions o;
  o.members = 3;
  o.elites = 2;
  o.hidden = {16, 16};
  o.weight_decay = {2.5e-5, 5e-5, 1e-4};
  o.batch_size = 64;
  o.max_epochs = 2;
  o.device = device;
  return o;
}

void append(std::vector<double>& out, const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  out.insert(out.end(), v.begin(), v.end());
}

// An ensemble trained on `device`, then: its report (epochs, elites, the
// members' holdout MSEs), its standardisation, every weight, a prediction
// and two model steps of 40 dataset rows.
std::vector<double> dynamics_run(const envs::Dataset& data, Device device) {
  DynamicsEnsemble ensemble(2, 2, small_dynamics(device), 3);
  const DynamicsTrainReport report = ensemble.train(data);
  std::vector<double> out{double(report.epochs)};
  out.insert(out.end(), report.elites.begin(), report.elites.end());
  out.insert(out.end(), report.holdout_mse.begin(), report.holdout_mse.end());
  for (const auto* stats :
       {&ensemble.input_mean(), &ensemble.input_std(), &ensemble.target_mean(), &ensemble.target_std()})
    out.insert(out.end(), stats->begin(), stats->end());
  for (const Var& p : ensemble.model().parameters()) {
    CHECK(p.value().device() == device);
    append(out, p.value());
  }
  const Tensor obs = data.observations.narrow(0, 0, 40).to(device), actions = data.actions.narrow(0, 0, 40).to(device);
  const nn::GaussianPrediction p = ensemble.predict(obs, actions);
  append(out, p.mean.value());
  append(out, p.log_var.value());
  Generator gen(11);
  for (int k = 0; k < 2; ++k) {
    const ModelStep step = ensemble.step(obs, actions, gen);
    for (const Tensor& t : {step.next_obs, step.rewards, step.uncertainty}) {
      CHECK(t.device() == device);  // computed there, not on the CPU
      append(out, t);
    }
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

TEST_CASE("offline learners on ref: an update reads nothing back (SAC's temperature and CQL's Lagrangian stay there)") {
  const test::ThreadCountGuard pin(1);
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 200, 1);
  const envs::EnvPtr probe = envs::make_env("SquareToy");
  const ReplayBuffer buffer = dataset_buffer(data, Device::ref);
  Generator gen(5);
  auto reads = [] { return transfer_counts().to_host; };
  auto sac_reads = [&](bool autotune, bool lagrangian, int updates) {
    SACLearnerOptions o;
    o.hidden = {8};
    o.autotune = autotune;
    o.device = Device::ref;
    SACLearner learner(data.obs_dim(), probe->action_space(), o, 7);
    CQLOptions c;
    c.num_samples = 2;
    c.lagrangian = lagrangian;
    c.device = Device::ref;
    CQLPenalty penalty(probe->action_space(), c, 7);
    const uint64_t before = reads();
    for (int k = 0; k < updates; ++k)
      learner.update(buffer.sample(16, gen), [&](const ReplayBuffer::Batch& b, SACLearner& l) { return penalty(b, l); });
    return reads() - before;
  };
  CHECK(sac_reads(false, false, 5) == 0);  // fixed temperature, fixed CQL weight: nothing
  CHECK(sac_reads(true, false, 5) == 0);   // autotune: the temperature stays on the device
  CHECK(sac_reads(false, true, 5) == 0);   // the Lagrangian: its step takes the gaps and alpha' there
  CHECK(sac_reads(true, true, 5) == 0);
  // Every 100th update reads the critic's and the actor's finite checks, and the Lagrangian's.
  CHECK(sac_reads(true, true, SACLearner::kUpdatesPerCheck) == 3);

  TD3BCLearnerOptions t;
  t.hidden = {8};
  t.device = Device::ref;
  TD3BCLearner td3(data.obs_dim(), probe->action_space(), t, 7);
  uint64_t before = reads();
  for (int k = 0; k < 5; ++k) td3.update(buffer.sample(16, gen));
  CHECK(reads() - before == 0);
  const TD3BCLearner::Stats s = td3.stats();  // the last update's numbers: one copy
  CHECK(reads() - before == 1);
  CHECK(std::isfinite(s.critic_loss));
  CHECK(std::isfinite(s.actor_loss));  // the fifth update (index 4) trained the actor (policy_frequency 2)
  td3.update(buffer.sample(16, gen));  // the sixth trains the critics only
  CHECK(std::isnan(td3.stats().actor_loss));
}

TEST_CASE("MOPO and ORPO, a round of model rollouts and a gradient step, on a device as on the CPU") {
  const test::ThreadCountGuard pin(1);
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 300, 1);
  // The ensemble trained on the run's device: it and its rollouts run there.
  const auto trained_model = [&](Device device) {
    auto model = std::make_shared<DynamicsEnsemble>(2, 2, small_dynamics(device), 3);
    model->train(data);
    return model;
  };
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
  const auto cpu_model = trained_model(Device::cpu);
  const OfflineResult mopo_cpu = train_mopo(m, data, cpu_model), orpo_cpu = train_orpo(o, data, cpu_model);
  for (const Device d : devices_to_test()) {
    CAPTURE(device_name(d));
    m.device = o.device = d;
    const auto model = trained_model(d);
    const OfflineResult mopo = train_mopo(m, data, model), orpo = train_orpo(o, data, model);
    CHECK(close(mopo_cpu.final_return, mopo.final_return));
    CHECK(close(mopo_cpu.diagnostics.at("rollout_uncertainty"), mopo.diagnostics.at("rollout_uncertainty")));
    CHECK(close(orpo_cpu.final_return, orpo.final_return));
    for (const char* key : {"rollout_uncertainty_optimistic", "rollout_uncertainty_output", "rollout_policy_return"}) {
      CAPTURE(key);
      CHECK(close(orpo_cpu.diagnostics.at(key), orpo.diagnostics.at(key)));
    }
  }
  // A given ensemble must be on the run's device.
  m.device = Device::ref;
  CHECK_THROWS_WITH_AS(train_mopo(m, data, cpu_model),
                       doctest::Contains("the given dynamics ensemble is on cpu, but the run's device is ref"), Error);
}

TEST_CASE("the dynamics ensemble trains, predicts and steps on a device as on the CPU") {
  const test::ThreadCountGuard pin(1);
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 300, 1);
  const std::vector<double> cpu = dynamics_run(data, Device::cpu);
  for (const Device d : devices_to_test()) {
    CAPTURE(device_name(d));
    check_all_close(cpu, dynamics_run(data, d));
  }
  // Inputs left on the CPU are an error naming both devices, not a hidden copy.
  DynamicsEnsembleOptions o = small_dynamics(Device::ref);
  DynamicsEnsemble on_ref(data.obs_dim(), data.act_dim(), o, 3);
  Generator gen(4);
  const Tensor obs = zeros({2, data.obs_dim()}), actions = zeros({2, data.act_dim()});
  CHECK_THROWS_WITH_AS(on_ref.step(obs, actions, gen),
                       "DynamicsEnsemble::step: obs on cpu and actions on cpu, the ensemble on ref: move them there",
                       Error);
  CHECK_NOTHROW(on_ref.step(obs.to(Device::ref), actions.to(Device::ref), gen));
}

TEST_CASE("the dynamics ensemble's host crossings on ref: one read per training epoch, none per model step") {
  const test::ThreadCountGuard pin(1);
  // 300 rows: 60 held out, 240 trained on, so an epoch is 4 minibatches of 64 rows.
  const envs::Dataset data = envs::build_dataset("SquareToy", "random", 300, 1);
  const auto train_crossings = [&](int64_t epochs) {
    DynamicsEnsembleOptions o = small_dynamics(Device::ref);
    o.max_epochs = epochs;
    o.patience = 100;  // max_epochs ends the run
    DynamicsEnsemble ensemble(2, 2, o, 3);
    const TransferCounts before = transfer_counts();
    CHECK(ensemble.train(data).epochs == epochs);
    const TransferCounts after = transfer_counts();
    return TransferCounts{after.to_host - before.to_host, after.from_host - before.from_host};
  };
  const TransferCounts one = train_crossings(1), three = train_crossings(3);
  // Each epoch reads once (the members' holdout MSEs for early stopping, with
  // the epoch's summed loss for the finite check) and sends nothing: the
  // minibatch indices are drawn and gathered on the device.
  CHECK(three.to_host - one.to_host == 2);
  CHECK(three.from_host == one.from_host);
  // A one-epoch train() in all. Reads: the dataset's two finite-check sums,
  // the mean and std of the inputs and of the targets (4), the epoch's one,
  // the final holdout MSEs: 8. Sends: the dataset's four tensors, the five
  // standardisation tensors (input mean and std, target mean and std, the
  // log-variance shift) and the elites: 10.
  CHECK(one.to_host == 8);
  CHECK(one.from_host == 10);

  DynamicsEnsemble ensemble(2, 2, small_dynamics(Device::ref), 3);
  ensemble.train(data);
  const Tensor obs = data.observations.narrow(0, 0, 16).to(Device::ref),
               actions = data.actions.narrow(0, 0, 16).to(Device::ref);
  Generator gen(11);
  TransferCounts before = transfer_counts();
  const ModelStep step = ensemble.step(obs, actions, gen);
  TransferCounts after = transfer_counts();
  // A model step neither reads nor sends: the elite choice and the noise are drawn on the device.
  CHECK(step.next_obs.device() == Device::ref);
  CHECK(after.to_host == before.to_host);
  CHECK(after.from_host == before.from_host);

  // A branched rollout of 3 steps from 16 host start states, uniform actions
  // drawn on the device, states clipped into the toy's box, and only the
  // first row of the first step terminated.
  const envs::EnvPtr toy = envs::make_env("SquareToy");
  const BatchPolicy uniform = uniform_policy(toy->action_space().low, toy->action_space().high, gen, Device::ref);
  bool ended_one = false;
  const envs::TerminationFn first_row_ends = [&](const std::vector<double>&, const std::vector<double>&,
                                                 const std::vector<double>&) {
    return !std::exchange(ended_one, true);
  };
  ModelBuffer buffer(100, 2, 2);
  before = transfer_counts();
  const RolloutStats r = branched_rollout(ensemble, uniform, data.observations.narrow(0, 0, 16), 3, first_row_ends, 0.5,
                                          1.0, buffer, gen, &toy->observation_space());
  after = transfer_counts();
  CHECK(r.transitions == 16 + 15 + 15);
  // Reads: one per rollout step (its rows for the termination function and
  // the host's buffer, with the sums of u and r^). Sends: the start states
  // and the box's two bounds once per rollout, the 15 surviving rows'
  // indices after the first step.
  CHECK(after.to_host - before.to_host == 3);
  CHECK(after.from_host - before.from_host == 4);
}
