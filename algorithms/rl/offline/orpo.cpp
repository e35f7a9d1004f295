// ORPO, one file in the manner of CleanRL. The loop, step by step:
//   1. fit (or take) the dynamics ensemble;
//   2. every rollout_every gradient steps, roll pi_o for h_o steps into D_o
//      and pi (+ Gaussian noise) for h steps into D_pi, from dataset states,
//      each row labelled r_O = r^ + beta u and r_P = r^ - lambda u;
//   3. each gradient step, update pi_o (SAC) on 5% D (true r) + 95% D_o (r_O)
//      and pi (TD3+BC) on 5% D + 45% D_pi + 50% D_o (r_P).
// Equations: docs/papers/orpo.md "Uncertainty and the two MDPs", "Rollouts",
// "Rollout policy" and "Output policy".
#include "algorithms/rl/offline/orpo.h"

#include <algorithm>
#include <cmath>

#include "algorithms/rl/offline/model_rollouts.h"
#include "algorithms/rl/offline/mopo.h"
#include "envs/env.h"
#include "tensor/error.h"

namespace gradlab::rl {

RolloutPolicy parse_rollout_policy(const std::string& name) {
  if (name == "optimistic") return RolloutPolicy::optimistic;
  if (name == "random") return RolloutPolicy::random;
  if (name == "output") return RolloutPolicy::output;
  GL_CHECK(false, "rollout policy '{}' is not one of optimistic, random, output", name);
  return RolloutPolicy::optimistic;
}

std::string rollout_policy_name(RolloutPolicy p) {
  switch (p) {
    case RolloutPolicy::optimistic: return "optimistic";
    case RolloutPolicy::random: return "random";
    case RolloutPolicy::output: return "output";
  }
  return "?";
}

OfflineResult train_orpo(const ORPOArgs& args, const envs::Dataset& data,
                         std::shared_ptr<const DynamicsEnsemble> model) {
  GL_CHECK(args.batch_size > 0 && args.rollout_every > 0 && args.rollout_batch > 0 && args.horizon > 0 &&
               args.rollout_horizon > 0 && args.retain_rounds > 0,
           "train_orpo: batch_size, rollout_every, rollout_batch, horizon, rollout_horizon and retain_rounds must be "
           "positive");
  GL_CHECK(
      args.real_fraction >= 0 && args.output_own_fraction >= 0 && args.real_fraction + args.output_own_fraction <= 1,
      "train_orpo: real_fraction ({}) and output_own_fraction ({}) must be >= 0 and sum to at most 1",
      args.real_fraction, args.output_own_fraction);
  GL_CHECK(args.lambda >= 0 && args.beta >= 0 && args.exploration_std >= 0,
           "train_orpo: lambda, beta and exploration_std must be >= 0, got {}, {} and {}", args.lambda, args.beta,
           args.exploration_std);
  OfflineEvaluator evaluator("train_orpo", args.exp_name, data, args.gradient_steps, args.eval_every,
                             args.eval_episodes, args.seed, args.progress_seconds);
  const envs::EnvPtr probe = envs::make_env(evaluator.env_id());
  const envs::Space& action_space = probe->action_space();
  const envs::TerminationFn terminated = envs::termination_function(evaluator.env_id());
  const Device device = args.device;
  DynamicsEnsembleOptions dynamics_options = args.dynamics;
  dynamics_options.device = device;
  model = fitted_dynamics(data, model, dynamics_options, args.seed);
  const envs::Space* box = args.clip_model_states ? &probe->observation_space() : nullptr;

  const StateNormalizer norm =
      args.normalize_states ? StateNormalizer::fit(data) : StateNormalizer::identity(data.obs_dim());
  const ReplayBuffer real = dataset_buffer(data);
  const int64_t O = data.obs_dim(), A = data.act_dim();
  ModelBuffer optimistic_data(args.retain_rounds * args.rollout_batch * args.rollout_horizon, O, A);  // D_o
  ModelBuffer output_data(args.retain_rounds * args.rollout_batch * args.horizon, O, A);              // D_pi
  TD3BCLearnerOptions output_options = args.output_learner;
  SACLearnerOptions rollout_options = args.rollout_learner;
  output_options.device = rollout_options.device = device;
  auto output = std::make_shared<TD3BCLearner>(O, action_space, output_options, args.seed);
  std::unique_ptr<SACLearner> rollout_sac;
  if (args.rollout_policy == RolloutPolicy::optimistic)
    rollout_sac = std::make_unique<SACLearner>(O, action_space, rollout_options, derive_seed(args.seed, 11));
  const Generator run_gen(args.seed);
  Generator sample_gen = run_gen.fork(3), rollout_gen = run_gen.fork(5), noise_gen = run_gen.fork(6),
            random_gen = run_gen.fork(8);

  // The output policy's rollouts: pi(s) + N(0, exploration_std scale), clipped to the box.
  // The model states and the actions stay on the device (the normaliser sends
  // its two constant rows there on each call, act_noisy its scale and box).
  const BatchPolicy output_explore = [&](const Tensor& obs) {
    return output->act_noisy(norm.apply(obs), args.exploration_std, noise_gen);
  };
  BatchPolicy rollout_explore;
  switch (args.rollout_policy) {
    case RolloutPolicy::optimistic:
      rollout_explore = [&](const Tensor& obs) { return rollout_sac->act(norm.apply(obs), false); };
      break;
    case RolloutPolicy::random:
      rollout_explore = uniform_policy(action_space.low, action_space.high, random_gen, device);
      break;
    case RolloutPolicy::output: rollout_explore = output_explore; break;
  }
  // With pi_o = pi, D_o is filled by the output policy and D_pi is not needed separately.
  const bool separate_output_rollouts = args.rollout_policy != RolloutPolicy::output;

  const std::vector<int64_t> sac_split = split_batch(args.batch_size, {args.real_fraction, 1.0 - args.real_fraction});
  const std::vector<int64_t> output_split =
      separate_output_rollouts ? split_batch(args.batch_size, {args.real_fraction, args.output_own_fraction,
                                                               1.0 - args.real_fraction - args.output_own_fraction})
                               : std::vector<int64_t>{sac_split[0], 0, sac_split[1]};

  const auto act = [output, norm](const std::vector<double>& obs) { return output->act(norm.apply(obs)); };
  double u_optimistic = 0, u_output = 0;
  int64_t rounds = 0;
  for (int64_t step = 1; step <= args.gradient_steps; ++step) {
    if ((step - 1) % args.rollout_every == 0) {
      // docs/papers/orpo.md "Rollouts": both policies from fresh dataset start states (sampled from
      // the host's dataset buffer, they cross to the device once per rollout)
      const Tensor starts_o = real.sample(args.rollout_batch, rollout_gen).obs;
      u_optimistic += branched_rollout(*model, rollout_explore, starts_o, args.rollout_horizon, terminated, args.beta,
                                       args.lambda, optimistic_data, rollout_gen, box)
                          .mean_uncertainty;
      if (separate_output_rollouts) {
        const Tensor starts_pi = real.sample(args.rollout_batch, rollout_gen).obs;
        u_output += branched_rollout(*model, output_explore, starts_pi, args.horizon, terminated, args.beta,
                                     args.lambda, output_data, rollout_gen, box)
                        .mean_uncertainty;
      }
      ++rounds;
    }
    // docs/papers/orpo.md "Rollout policy": SAC in the O-MDP on 5% D (true r) + 95% D_o (r_O)
    if (rollout_sac)
      rollout_sac->update(norm.apply(to_device(
          mixed_batch(real, sac_split[0], {{&optimistic_data, RewardLabel::optimistic, sac_split[1]}}, sample_gen),
          device)));
    // docs/papers/orpo.md "Output policy": TD3+BC in the P-MDP on 5% D + 45% D_pi + 50% D_o (r_P)
    output->update(norm.apply(to_device(mixed_batch(real, output_split[0],
                                                    {{&output_data, RewardLabel::pessimistic, output_split[1]},
                                                     {&optimistic_data, RewardLabel::pessimistic, output_split[2]}},
                                                    sample_gen),
                                        device)));
    evaluator.after_step(step, act);
  }
  OfflineResult result = evaluator.finish(act);
  result.diagnostics["rollout_uncertainty_optimistic"] = u_optimistic / double(std::max<int64_t>(rounds, 1));
  result.diagnostics["rollout_uncertainty_output"] = separate_output_rollouts
                                                         ? u_output / double(std::max<int64_t>(rounds, 1))
                                                         : result.diagnostics["rollout_uncertainty_optimistic"];
  result.diagnostics["rollout_policy_return"] = std::nan("");
  if (rollout_sac) {
    SACLearner& sac = *rollout_sac;
    result.diagnostics["rollout_policy_return"] =
        evaluate_offline(
            evaluator.env_id(), [&](const std::vector<double>& obs) { return sac.act(norm.apply(obs), true); },
            args.eval_episodes, derive_seed(args.seed, 9), nullptr)
            .mean_return;
  }
  return result;
}

}  // namespace gradlab::rl
