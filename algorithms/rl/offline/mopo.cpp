// MOPO, one file in the manner of CleanRL: fit (or take) the dynamics
// ensemble, then alternate rollout rounds of SAC's policy in the model with
// SAC updates on 5% real / 95% penalised model data.
// Equations: docs/papers/rl-baselines.md "MOPO, MOReL, COMBO" (MOPO.1).
#include "algorithms/rl/offline/mopo.h"

#include <algorithm>

#include "algorithms/rl/offline/model_rollouts.h"
#include "envs/env.h"
#include "tensor/error.h"

namespace gradlab::rl {

std::shared_ptr<const DynamicsEnsemble> fitted_dynamics(const envs::Dataset& data,
                                                        std::shared_ptr<const DynamicsEnsemble> model,
                                                        const DynamicsEnsembleOptions& options, uint64_t seed) {
  if (model) {
    GL_CHECK(model->device() == options.device,
             "fitted_dynamics: the given dynamics ensemble is on {}, but the run's device is {}: build it with "
             "DynamicsEnsembleOptions::device = {}",
             model->device(), options.device, options.device);
    return model;
  }
  auto fitted = std::make_shared<DynamicsEnsemble>(data.obs_dim(), data.act_dim(), options, derive_seed(seed, 7));
  fitted->train(data);
  return fitted;
}

OfflineResult train_mopo(const MOPOArgs& args, const envs::Dataset& data,
                         std::shared_ptr<const DynamicsEnsemble> model) {
  GL_CHECK(args.batch_size > 0 && args.rollout_every > 0 && args.rollout_batch > 0 && args.horizon > 0 &&
               args.retain_rounds > 0,
           "train_mopo: batch_size, rollout_every, rollout_batch, horizon and retain_rounds must be positive");
  GL_CHECK(args.real_fraction >= 0 && args.real_fraction <= 1, "train_mopo: real_fraction must be in [0, 1], got {}",
           args.real_fraction);
  OfflineEvaluator evaluator("train_mopo", args.exp_name, data, args.gradient_steps, args.eval_every,
                             args.eval_episodes, args.seed, args.progress_seconds);
  const envs::EnvPtr probe = envs::make_env(evaluator.env_id());
  const envs::TerminationFn terminated = envs::termination_function(evaluator.env_id());
  const Device device = args.device;
  DynamicsEnsembleOptions dynamics_options = args.dynamics;
  dynamics_options.device = device;
  model = fitted_dynamics(data, model, dynamics_options, args.seed);
  const envs::Space* box = args.clip_model_states ? &probe->observation_space() : nullptr;

  const StateNormalizer norm =
      args.normalize_states ? StateNormalizer::fit(data) : StateNormalizer::identity(data.obs_dim());
  const ReplayBuffer real = dataset_buffer(data);
  ModelBuffer model_data(args.retain_rounds * args.rollout_batch * args.horizon, data.obs_dim(), data.act_dim());
  SACLearnerOptions learner_options = args.learner;
  learner_options.device = device;
  auto sac = std::make_shared<SACLearner>(data.obs_dim(), probe->action_space(), learner_options, args.seed);
  const Generator run_gen(args.seed);
  Generator sample_gen = run_gen.fork(3), rollout_gen = run_gen.fork(5);
  const std::vector<int64_t> split = split_batch(args.batch_size, {args.real_fraction, 1.0 - args.real_fraction});

  // The rollout policy is SAC's own stochastic policy on standardised states.
  // The model states and the actions stay on the device (the normaliser sends
  // its two constant rows there on each call).
  const BatchPolicy explore = [&](const Tensor& obs) { return sac->act(norm.apply(obs), false); };
  const auto act = [sac, norm](const std::vector<double>& obs) { return sac->act(norm.apply(obs), true); };
  double uncertainty_sum = 0;
  int64_t rounds = 0;
  for (int64_t step = 1; step <= args.gradient_steps; ++step) {
    if ((step - 1) % args.rollout_every == 0) {
      // start states from the host's dataset buffer: they cross to the device once per round
      const Tensor starts = real.sample(args.rollout_batch, rollout_gen).obs;
      // docs/papers/rl-baselines.md (MOPO.1): r~ = r^ - lambda u (beta = 0: only the pessimistic label is used)
      const RolloutStats r = branched_rollout(*model, explore, starts, args.horizon, terminated, 0.0, args.lambda,
                                              model_data, rollout_gen, box);
      uncertainty_sum += r.mean_uncertainty;
      ++rounds;
    }
    sac->update(norm.apply(to_device(
        mixed_batch(real, split[0], {{&model_data, RewardLabel::pessimistic, split[1]}}, sample_gen), device)));
    evaluator.after_step(step, act);
  }
  OfflineResult result = evaluator.finish(act);
  result.diagnostics["rollout_uncertainty"] = uncertainty_sum / double(std::max<int64_t>(rounds, 1));
  return result;
}

}  // namespace gradlab::rl
