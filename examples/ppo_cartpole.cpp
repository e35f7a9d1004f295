// PPO on CartPole-v1, written out: collect a rollout with the current policy,
// compute GAE advantages, then a few epochs of minibatch updates of the
// clipped surrogate. The losses and GAE come from algorithms/rl (each checked
// by the tests against hand-worked cases); the loop is all here. The library's
// own PPO (algorithms/rl/ppo.h, build/bench/ppo) adds vector envs, annealing
// and logging.
//   build/examples/ppo_cartpole [updates]     (default 100: about 50k steps)
#include <cstdio>
#include <cstdlib>

#include "algorithms/rl/buffers.h"
#include "algorithms/rl/ppo.h"
#include "autograd/ops.h"
#include "envs/env.h"
#include "nn/gpt.h"
#include "nn/layers.h"
#include "optim/adam.h"
#include "optim/clip.h"

using namespace gradlab;

int main(int argc, char** argv) {
  const int updates = argc > 1 ? std::atoi(argv[1]) : 100;
  if (updates <= 0) {
    std::fprintf(stderr, "usage: ppo_cartpole [updates > 0]\n");
    return 2;
  }
  const int64_t T = 512, epochs = 4, minibatch = 128;
  const double gamma = 0.99, lambda = 0.95, clip = 0.2;
  envs::EnvPtr env = envs::make_env("CartPole-v1");
  Generator gen(1);
  const nn::MLPOptions tanh_net{.activation = nn::Activation::tanh, .init = "orthogonal"};
  nn::MLP actor({4, 64, 64, 2}, gen, tanh_net), critic({4, 64, 64, 1}, gen, tanh_net);
  std::vector<Var> params = actor.parameters();
  for (const Var& p : critic.parameters()) params.push_back(p);
  optim::Adam opt(params, {.lr = 2.5e-4, .eps = 1e-5});

  std::vector<double> obs = env->reset(0);
  double episode_return = 0, last_return = 0;
  for (int update = 1; update <= updates; ++update) {
    // 1. Rollout: T steps of the stochastic policy.
    std::vector<float> observations;
    std::vector<int64_t> actions;
    std::vector<double> log_probs, values, rewards, bootstrap(static_cast<size_t>(T), 0.0);
    std::vector<uint8_t> terminated, truncated;
    for (int64_t t = 0; t < T; ++t) {
      NoGradGuard no_grad;
      const Tensor o = from_vector(std::vector<float>(obs.begin(), obs.end()), {1, 4});
      const Tensor logp = log_softmax(actor(Var(o)), -1).value();  // [1, 2]
      const int64_t a = nn::sample_categorical(exp(logp), gen).to_vector<int64_t>()[0];
      observations.insert(observations.end(), obs.begin(), obs.end());
      actions.push_back(a);
      log_probs.push_back(logp.to_vector<float>()[size_t(a)]);
      values.push_back(critic(Var(o)).value().item());
      const envs::Step s = env->step({double(a)});
      rewards.push_back(s.reward);
      terminated.push_back(s.terminated);
      truncated.push_back(s.truncated);
      episode_return += s.reward;
      obs = s.obs;
      if (s.truncated) {  // a time limit: bootstrap from the final observation's value
        const Tensor f = from_vector(std::vector<float>(obs.begin(), obs.end()), {1, 4});
        bootstrap[size_t(t)] = critic(Var(f)).value().item();
      }
      if (s.done()) {
        last_return = episode_return;
        episode_return = 0;
        obs = env->reset();
      }
    }
    // 2. Advantages by GAE, bootstrapped from the value after the rollout.
    double last_value;
    {
      NoGradGuard no_grad;
      last_value = critic(Var(from_vector(std::vector<float>(obs.begin(), obs.end()), {1, 4}))).value().item();
    }
    const std::vector<double> adv = rl::compute_gae(T, 1, rewards, values, terminated, truncated, bootstrap,
                                                    {last_value}, gamma, lambda);
    std::vector<double> returns(adv.size());
    for (int64_t t = 0; t < T; ++t) returns[size_t(t)] = adv[size_t(t)] + values[size_t(t)];
    const Tensor O = from_vector(observations, {T, 4}), A = from_vector(actions, {T});
    const Tensor old_logp = from_vector(log_probs, {T}).to(DType::f32), old_v = from_vector(values, {T}).to(DType::f32);
    const Tensor ADV = from_vector(adv, {T}).to(DType::f32), RET = from_vector(returns, {T}).to(DType::f32);
    // 3. Epochs of minibatch updates on the clipped surrogate and the value loss.
    for (int64_t e = 0; e < epochs; ++e) {
      const Tensor perm = randperm(T, gen);
      for (int64_t s = 0; s < T; s += minibatch) {
        const Tensor idx = perm.narrow(0, s, minibatch);
        const Var logp = log_softmax(actor(Var(index_select(O, 0, idx))), -1);
        const Var new_logp = squeeze(gather(logp, 1, index_select(A, 0, idx).unsqueeze(1)), 1);
        const Var new_v = squeeze(critic(Var(index_select(O, 0, idx))), 1);
        const Var loss = rl::ppo_policy_loss(new_logp, index_select(old_logp, 0, idx),
                                             rl::normalize_advantages(index_select(ADV, 0, idx)), clip) +
                         0.5 * rl::ppo_value_loss(new_v, index_select(old_v, 0, idx), index_select(RET, 0, idx),
                                                  clip, true);
        opt.zero_grad();
        loss.backward();
        optim::clip_grad_norm(params, 0.5);
        opt.step();
      }
    }
    if (update % 10 == 0 || update == updates)
      std::printf("update %3d  steps %6lld  last episode return %.0f\n", update, (long long)(update * T), last_return);
  }
  return 0;
}
