// SAC updates from a handed batch (algorithms/rl/offline/sac_learner.h).
#include "algorithms/rl/offline/sac_learner.h"

#include <cmath>
#include <initializer_list>
#include <vector>

#include "algorithms/rl/rl_utils.h"
#include "algorithms/rl/sac.h"
#include "optim/polyak.h"
#include "tensor/error.h"

namespace gradlab::rl {

SACLearner::SACLearner(int64_t obs_dim, const envs::Space& actions, const SACLearnerOptions& options, uint64_t seed)
    : init_gen(Generator(seed).fork(0)),
      actor(obs_dim, actions, options.hidden, options.log_std_min, options.log_std_max, init_gen),
      qf1(obs_dim, actions.dim(), options.hidden, init_gen),
      qf2(obs_dim, actions.dim(), options.hidden, init_gen),
      qf1_target(obs_dim, actions.dim(), options.hidden, init_gen),
      qf2_target(obs_dim, actions.dim(), options.hidden, init_gen),
      options_(options),
      policy_gen_(Generator(seed).fork(1)),
      target_entropy_(std::isnan(options.target_entropy) ? -double(actions.dim()) : options.target_entropy),
      log_alpha_(Var::leaf(full({1}, options.autotune ? 0.0 : std::log(options.alpha), DType::f32, options.device))),
      alpha_(options.autotune ? sac_temperature(log_alpha_) : full({}, options.alpha, DType::f64, options.device)),
      critic_check_("SAC critic", options.device),
      actor_check_("SAC actor", options.device) {
  GL_CHECK(!actions.is_discrete(), "SACLearner: needs a box action space, got {}", actions.str());
  GL_CHECK(!options.hidden.empty(), "SACLearner: needs at least one hidden layer");
  GL_CHECK(options.tau >= 0 && options.tau <= 1, "SACLearner: tau must be in [0, 1], got {}", options.tau);
  GL_CHECK(options.alpha > 0 || options.autotune, "SACLearner: a fixed alpha must be positive, got {}", options.alpha);
  qf1_target.load_state_dict(qf1.state_dict());
  qf2_target.load_state_dict(qf2.state_dict());
  // Initialised on the CPU (the same weights on every device), then moved.
  for (nn::Module* m : std::initializer_list<nn::Module*>{&actor, &qf1, &qf2, &qf1_target, &qf2_target})
    m->to(options.device);
  qf1_target.freeze();
  qf2_target.freeze();
  q_optimizer_ = std::make_unique<optim::Adam>(joined(qf1.parameters(), qf2.parameters()),
                                               optim::AdamOptions{.lr = options.critic_lr});
  actor_optimizer_ = std::make_unique<optim::Adam>(actor.parameters(), optim::AdamOptions{.lr = options.actor_lr});
  alpha_optimizer_ =
      std::make_unique<optim::Adam>(std::vector<Var>{log_alpha_}, optim::AdamOptions{.lr = options.alpha_lr});
}

void SACLearner::update(const ReplayBuffer::Batch& data, const CriticRegulariser& regulariser) {
  // ---- critics: y = r + gamma (1 - d) (min Q'(s', a') - alpha log pi(a'|s')), a' ~ pi(s')
  Tensor target;
  {
    NoGradGuard no_grad;
    const nn::TanhGaussianSample next = actor.sample(data.next_obs, policy_gen_);
    target = sac_critic_target(data.rewards, data.terminated, qf1_target.forward(data.next_obs, next.action).value(),
                               qf2_target.forward(data.next_obs, next.action).value(), next.log_prob.value(), alpha_,
                               options_.gamma);
  }
  const Var q1 = qf1.forward(data.obs, data.actions), q2 = qf2.forward(data.obs, data.actions);
  Var critic_loss = mse(q1, target) + mse(q2, target);
  last_regulariser_ = Tensor();
  if (regulariser) {
    const Var extra = regulariser(data, *this);
    last_regulariser_ = extra.value();
    critic_loss = critic_loss + extra;
  }
  critic_check_.check_finite(critic_loss, updates_);
  q_optimizer_->zero_grad();
  critic_loss.backward();
  q_optimizer_->step();

  // ---- actor: E[alpha log pi(a|s) - min Q(s, a)], a ~ pi(s) reparameterised; Q's weights held
  qf1.freeze();
  qf2.freeze();
  const nn::TanhGaussianSample pi = actor.sample(data.obs, policy_gen_);
  const Var actor_loss =
      sac_actor_loss(pi.log_prob, qf1.forward(data.obs, pi.action), qf2.forward(data.obs, pi.action), alpha_);
  actor_check_.check_finite(actor_loss, updates_);
  actor_optimizer_->zero_grad();
  actor_loss.backward();
  actor_optimizer_->step();
  qf1.unfreeze();
  qf2.unfreeze();

  // ---- temperature towards the target entropy
  if (options_.autotune) {
    const Var alpha_loss = sac_temperature_loss(log_alpha_, pi.log_prob.value(), target_entropy_);
    alpha_optimizer_->zero_grad();
    alpha_loss.backward();
    alpha_optimizer_->step();
    alpha_ = sac_temperature(log_alpha_);
  }
  optim::polyak_update(qf1_target.parameters(), qf1.parameters(), options_.tau);
  optim::polyak_update(qf2_target.parameters(), qf2.parameters(), options_.tau);
  ++updates_;
  last_critic_loss_ = critic_loss.value();
  last_actor_loss_ = actor_loss.value();
  last_q_mean_ = mean(q1.value());
  if (updates_ % kUpdatesPerCheck == 0) {  // on a device, the finite checks of the last kUpdatesPerCheck updates
    critic_check_.read();
    actor_check_.read();
  }
}

SACLearner::Stats SACLearner::stats() const {
  GL_CHECK(updates_ > 0, "SACLearner::stats: no update yet");
  std::vector<Tensor> parts;
  for (const Tensor& t : {last_critic_loss_, last_actor_loss_, last_q_mean_, alpha_, last_regulariser_})
    if (t.defined()) parts.push_back(t.reshape({1}).to(DType::f64));
  const std::vector<double> v = concat(parts).to_vector<double>();
  return {.critic_loss = v[0], .actor_loss = v[1], .alpha = v[3], .q_mean = v[2], .regulariser = v.size() > 4 ? v[4] : 0};
}

Tensor SACLearner::act(const Tensor& obs, bool deterministic) {
  NoGradGuard no_grad;
  return deterministic ? actor.deterministic(obs).value() : actor.sample(obs, policy_gen_).action.value();
}

std::vector<double> SACLearner::act(const std::vector<double>& obs, bool deterministic) {
  return act(row_tensor(obs).to(options_.device), deterministic).to_vector<double>();
}

}  // namespace gradlab::rl
