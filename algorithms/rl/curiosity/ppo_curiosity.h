// PPO with curiosity for discrete actions, in the manner of CleanRL's
// ppo_rnd (its own file, docs/papers/rl-baselines.md "RND" and "PPO"): the critic has two value heads,
// V_e for the extrinsic return (episodic, gamma_e) and V_i for the intrinsic
// return (non-episodic: episode ends do not cut it, gamma_i), each with its own
// GAE; the policy follows A = ext_coef A_e + int_coef A_i (2 and 1 in RND).
// The intrinsic reward of each rollout comes from an IntrinsicReward module
// (ICM, RND, Disagreement, APT, TI, DyMeCu) and is divided by the running
// std of the intrinsic discounted return (normalization.h). With method
// "none" it is plain PPO on the extrinsic reward; with use_extrinsic off it is
// reward-free (URLB-style pre-training). The same agent can train again on
// another environment (fine-tuning) with other coefficients.
// Note: RND uses gamma_e = 0.999; the tiny grids of our experiments
// use shorter horizons, so the binaries pass their own gamma_e (a flag).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "algorithms/rl/curiosity/intrinsic.h"
#include "algorithms/rl/curiosity/normalization.h"
#include "envs/vector_env.h"
#include "nn/layers.h"
#include "nn/policy.h"
#include "optim/adam.h"

namespace gradlab::rl::curiosity {

struct PPOCuriosityArgs {
  std::string method = "none";  // "none" (plain PPO) or an intrinsic_reward_names() entry
  uint64_t seed = 1;
  int64_t num_envs = 8;
  int64_t num_steps = 64;  // per env per rollout
  double learning_rate = 1e-3;
  bool anneal_lr = false;
  double gamma_ext = 0.99;  // docs/papers/rl-baselines.md "RND": 0.999; our grid horizons are 10-60 steps
  double gamma_int = 0.99;
  double gae_lambda = 0.95;
  double ext_coef = 2.0;  // docs/papers/rl-baselines.md "RND": A = 2 A_e + 1 A_i
  double int_coef = 1.0;
  bool use_extrinsic = true;  // false: reward-free (the extrinsic reward is ignored)
  bool normalize_intrinsic = true;
  int64_t update_epochs = 4;
  int64_t num_minibatches = 4;
  double clip_coef = 0.2;
  double ent_coef = 0.01;
  double vf_coef = 0.5;
  double max_grad_norm = 0.5;
  int64_t hidden = 64;
  CuriosityOptions curiosity;  // obs_dim, n_actions and device are filled in by the trainer
  // Where the agent, the curiosity module and their optimiser state live
  // (cpu, cuda, ref); the envs step on the CPU. Per rollout step the
  // observations cross there and one read brings back the actions, log-probs
  // and values; per rollout the batch crosses once (algorithms/rl/README.md).
  Device device = Device::cpu;
};

// Per finished training episode: its extrinsic return and the env steps so far.
struct EpisodeRecord {
  int64_t global_step = 0;
  double extrinsic_return = 0;
};

struct TrainStats {
  std::vector<EpisodeRecord> episodes;
  int64_t env_steps = 0;
  double seconds = 0;             // the whole train() call
  double curiosity_seconds = 0;   // inside the intrinsic module's reward() and update()
  double mean_intrinsic_raw = 0;  // mean raw r^i of the last rollout
};

// The number of gradient steps the curiosity module takes in a run of `env_steps`
// environment steps: whole rollouts of num_envs x num_steps, each giving the module
// curiosity.epochs x min(curiosity.minibatches, rollout size) steps.
int64_t curiosity_gradient_steps(const PPOCuriosityArgs& args, int64_t env_steps);
// TI's snapshot interval M for a run of `gradient_steps`: max(1, floor(fraction x gradient_steps));
// fraction 0 picks 1 / (3 (K - 1)), so that the FIFO of K snapshots (the first taken at step 0)
// fills within the first third of the run.
int64_t ti_interval_for(int64_t gradient_steps, int64_t snapshots, double fraction = 0);

class PPOCuriosity {
 private:
  Generator init_gen_;  // initial weights (declared first: the networks below draw from it)

 public:
  PPOCuriosity(int64_t obs_dim, int64_t n_actions, PPOCuriosityArgs args);

  // Trains for `steps` environment steps (whole rollouts, rounded up) on vec,
  // which must match the agent's observation and action sizes. The vector env
  // is reset with `env_seed` on the first rollout of each call.
  TrainStats train(envs::VectorEnv& vec, int64_t steps, uint64_t env_seed);

  // Sampled (greedy = false) or most likely actions for observations [N, D]: [N] i64.
  Tensor act(const Tensor& obs, bool greedy);
  // Changes the coefficients between phases (e.g. fine-tuning: use_extrinsic
  // on, int_coef 0).
  PPOCuriosityArgs& args() { return args_; }
  IntrinsicReward* intrinsic() { return intrinsic_.get(); }

  nn::MLP actor;         // D -> h -> h -> A logits (tanh, orthogonal, output gain 0.01)
  nn::MLP critic_torso;  // D -> h -> h (tanh)
  nn::ValueHead value_ext, value_int;

 private:
  PPOCuriosityArgs args_;
  int64_t obs_dim_, n_actions_;
  Generator gen_;  // actions and minibatch order
  std::unique_ptr<IntrinsicReward> intrinsic_;
  std::unique_ptr<optim::Adam> adam_;
  RunningMeanStd int_return_stats_ = rnd_running_stats(1);
  std::unique_ptr<RewardForwardFilter> int_filter_;
};

}  // namespace gradlab::rl::curiosity
