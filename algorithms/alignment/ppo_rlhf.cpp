// PPO-RLHF: rollouts from the policy, per-token KL-penalised rewards with the
// sequence reward at the end, GAE, the clipped surrogate and the clipped value
// loss (equations in ppo_rlhf.h; docs/papers/alignment-baselines.md "PPO-RLHF").
#include "algorithms/alignment/ppo_rlhf.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/rl/ppo.h"
#include "envs/preference/language.h"
#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/error.h"

namespace gradlab::alignment {

namespace {

void check_same(const Tensor& a, const Tensor& b, const char* what) {
  GL_CHECK(a.defined() && b.defined() && a.shape() == b.shape() && a.dim() == 2, "ppo_rlhf: {}: shapes {} and {}", what,
           a.defined() ? a.shape() : Shape{}, b.defined() ? b.shape() : Shape{});
}

// Columns of the response tokens in a [B, T - 1] tensor of next-token
// predictions (position i predicts token i + 1): P - 1 .. P + L - 2.
Var response_columns(const Var& per_position, int64_t P, int64_t L) { return slice(per_position, 1, P - 1, P + L - 1); }

}  // namespace

Tensor per_token_rewards(const Tensor& logp, const Tensor& logp_ref, const Tensor& mask, const Tensor& score,
                         double beta) {
  check_same(logp, logp_ref, "per_token_rewards logp and logp_ref");
  check_same(logp, mask, "per_token_rewards logp and mask");
  const int64_t B = logp.size(0), L = logp.size(1);
  GL_CHECK(score.numel() == B, "ppo_rlhf: per_token_rewards: score has {} values for {} rows", score.numel(), B);
  const auto lp = logp.to(DType::f64).to_vector<double>(), lr = logp_ref.to(DType::f64).to_vector<double>(),
             m = mask.to(DType::f64).to_vector<double>(), s = score.to(DType::f64).to_vector<double>();
  std::vector<double> r(size_t(B * L), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    int64_t last = -1;
    for (int64_t t = 0; t < L; ++t) {
      const size_t i = size_t(b * L + t);
      if (m[i] == 0) continue;
      r[i] = -beta * (lp[i] - lr[i]);  // per-token KL penalty: -beta log(pi / pi_ref)
      last = t;
    }
    if (last >= 0) r[size_t(b * L + last)] += s[size_t(b)];  // the sequence reward R(x, y) at the end
  }
  return from_vector(r, {B, L}).to(logp.device()).to(logp.dtype());
}

Advantages gae(const Tensor& rewards, const Tensor& values, const Tensor& mask, double gamma, double lambda) {
  check_same(rewards, values, "gae rewards and values");
  check_same(rewards, mask, "gae rewards and mask");
  const int64_t B = rewards.size(0), L = rewards.size(1);
  const auto r = rewards.to(DType::f64).to_vector<double>(), v = values.to(DType::f64).to_vector<double>(),
             m = mask.to(DType::f64).to_vector<double>();
  std::vector<double> adv(size_t(B * L), 0.0), ret(size_t(B * L), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    double next_adv = 0, next_value = 0;  // past the last masked token: terminal, V = 0
    for (int64_t t = L - 1; t >= 0; --t) {
      const size_t i = size_t(b * L + t);
      if (m[i] == 0) {
        next_adv = next_value = 0;
        continue;
      }
      const double delta = r[i] + gamma * next_value - v[i];  // delta_t = r_t + gamma V_{t+1} - V_t
      adv[i] = delta + gamma * lambda * next_adv;             // A_t = delta_t + gamma lambda A_{t+1}
      ret[i] = adv[i] + v[i];                                 // G_t = A_t + V_t (the value target)
      next_adv = adv[i];
      next_value = v[i];
    }
  }
  return {from_vector(adv, {B, L}).to(rewards.device()).to(rewards.dtype()),
          from_vector(ret, {B, L}).to(rewards.device()).to(rewards.dtype())};
}

PPORLHF::PPORLHF(std::shared_ptr<nn::GPT> policy, std::shared_ptr<const nn::GPT> reference,
                 std::shared_ptr<nn::GPT> critic, RewardFn reward, const PPORLHFConfig& config, uint64_t seed)
    : policy_(std::move(policy)),
      reference_(std::move(reference)),
      critic_(std::move(critic)),
      reward_(std::move(reward)),
      config_(config),
      gen_(seed) {
  GL_CHECK(policy_ && reference_ && critic_ && reward_, "PPORLHF: policy, reference, critic and reward are required");
  GL_CHECK(critic_->value_head != nullptr, "PPORLHF: the critic needs a value head (GPTConfig::value_head)");
  GL_CHECK(config.rollout_prompts >= 1 && config.minibatch >= 1 && config.epochs >= 0 && config.response_len >= 1,
           "PPORLHF: rollout_prompts {}, minibatch {}, epochs {}, response_len {}", config.rollout_prompts,
           config.minibatch, config.epochs, config.response_len);
  GL_CHECK(config.clip > 0 && config.value_clip > 0 && config.kl_beta >= 0 && config.lambda >= 0 &&
               config.lambda <= 1 && config.gamma >= 0 && config.gamma <= 1,
           "PPORLHF: clip {}, value_clip {}, kl_beta {}, gamma {}, lambda {} out of range", config.clip,
           config.value_clip, config.kl_beta, config.gamma, config.lambda);
  GL_CHECK(config.kl_target >= 0 && config.kl_rate >= 0 && std::isfinite(config.kl_target),
           "PPORLHF: kl_target {} and kl_rate {} must be >= 0", config.kl_target, config.kl_rate);
  GL_CHECK(config.kl_target == 0 || config.kl_beta > 0 || config.squared_kl_loss_coef > 0,
           "PPORLHF: kl_target {} needs a positive starting KL coefficient (kl_beta or squared_kl_loss_coef)",
           config.kl_target);
  policy_opt_ = std::make_unique<optim::AdamW>(policy_->trainable_parameters(),
                                               optim::AdamWOptions{.lr = config.lr, .weight_decay = 0.0});
  critic_opt_ = std::make_unique<optim::AdamW>(critic_->trainable_parameters(),
                                               optim::AdamWOptions{.lr = config.critic_lr, .weight_decay = 0.0});
}

PPOIterationStats PPORLHF::step(const std::vector<Tokens>& prompts) {
  GL_CHECK(!prompts.empty(), "PPORLHF::step: no prompts");
  const PPORLHFConfig& c = config_;
  PPOIterationStats st;
  st.iteration = iteration_++;

  // ---- rollout (no gradients) ----
  const std::vector<Tokens> ys =
      sample_responses(*policy_, prompts, c.response_len, gen_, {.temperature = c.temperature});
  const SequenceBatch batch = make_batch(prompts, ys, policy_->device());
  const int64_t B = batch.size(), P = batch.prompt_len, L = batch.response_len;
  const std::vector<double> score = reward_(prompts, ys);
  GL_CHECK(int64_t(score.size()) == B, "PPORLHF::step: the reward returned {} values for {} samples", score.size(), B);
  st.reward = std::accumulate(score.begin(), score.end(), 0.0) / double(B);
  if (gold_) {
    const std::vector<double> g = gold_(prompts, ys);
    st.gold = std::accumulate(g.begin(), g.end(), 0.0) / double(B);
  }
  Tensor logp_old, logp_ref, values_old;
  {
    NoGradGuard no_grad;
    logp_old = response_columns(policy_->token_logprobs(batch.tokens), P, L).value().contiguous();
    logp_ref = response_columns(reference_->token_logprobs(batch.tokens), P, L).value().contiguous();
    // V(s_t) for response token t is read at the position before it (the state that emits it).
    values_old = slice(critic_->values(batch.tokens), 1, P - 1, P + L - 1).value().contiguous();
  }
  // [B, L], in the policy's dtype (a no-op for f32 models)
  const Tensor mask = batch.response_mask.slice(1, P, P + L).contiguous().to(logp_old.dtype());
  // One read for the rollout: the sampled KL(pi || pi_ref) summed over the batch, then each row's
  // response-token count (whole numbers, so the minibatches' counts are summed exactly on the host).
  const std::vector<double> kl_and_counts =
      concat({sum(mul(sub(logp_old, logp_ref), mask)).reshape({1}), sum(mask, {1})}).to(DType::f64).to_vector<double>();
  const std::vector<double> row_tokens(kl_and_counts.begin() + 1, kl_and_counts.end());
  st.kl = kl_and_counts[0] / double(B);  // per sequence
  st.kl_coef = active_kl_coefficient(c);
  const Tensor rewards = per_token_rewards(logp_old, logp_ref, mask, from_vector(score, {B}), c.kl_beta);
  Advantages a = gae(rewards, values_old, mask, c.gamma, c.lambda);
  Tensor adv = a.advantages;
  if (c.whiten_advantages) {  // normalise over the masked tokens of the rollout
    const double n = std::accumulate(row_tokens.begin(), row_tokens.end(), 0.0);
    const double mu = sum(mul(adv, mask)).item() / n;
    const double var = sum(mul(square(sub(adv, mu)), mask)).item() / std::max(1.0, n - 1);
    adv = mul(div(sub(adv, mu), std::sqrt(var) + 1e-8), mask);
  }

  // ---- updates ----
  std::vector<int64_t> order(static_cast<size_t>(B));
  std::iota(order.begin(), order.end(), 0);
  // The minibatches' losses and clip fractions: on a device they stay there, read once after the updates.
  enum { kPolicy, kValue, kEntropy, kClipped };
  optim::StepTally tally("PPO-RLHF", policy_->device(), 4);
  int64_t updates = 0;
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    shuffle(order, gen_);
    for (int64_t s = 0; s < B; s += c.minibatch) {
      const std::vector<int64_t> rows(order.begin() + s, order.begin() + std::min(B, s + c.minibatch));
      const Tensor idx = from_vector(rows, {int64_t(rows.size())}).to(batch.tokens.device());
      const SequenceBatch mb = take_rows(batch, rows);
      const Tensor m = index_select(mask, 0, idx), A = index_select(adv, 0, idx);
      const Tensor lp_old = index_select(logp_old, 0, idx), lp_ref = index_select(logp_ref, 0, idx);
      const Tensor v_old = index_select(values_old, 0, idx), G = index_select(a.returns, 0, idx);
      double count = 0;  // the minibatch's response tokens
      for (const int64_t r : rows) count += row_tokens[size_t(r)];
      count = std::max(1.0, count);

      // Policy: one forward gives the log-probs and the entropy of the response positions.
      const Var logits = slice(policy_->forward(mb.tokens), 1, P - 1, P + L - 1);  // [b, L, V]
      const Tensor targets = mb.tokens.slice(1, P, P + L).contiguous();
      const Var logp = -cross_entropy(logits, targets, {.reduction = Reduction::none});  // [b, L]
      const Var policy_loss = rl::ppo_policy_loss(logp, lp_old, A, c.clip, m, count);  // the clipped surrogate per token
      const Var ent = sum(entropy(logits, -1) * Var(m)) / count;
      Var loss = policy_loss - c.entropy_coef * ent;
      if (c.squared_kl_loss_coef > 0) {  // J_KL = E[(log pi(y|x) - log pi_ref(y|x))^2], sequence level
        const Var seq_log_ratio = sum((logp - Var(lp_ref)) * Var(m), {1});
        loss = loss + c.squared_kl_loss_coef * mean(square(seq_log_ratio));
      }
      tally.check_finite(loss, iteration_);
      policy_opt_->zero_grad();
      loss.backward();
      if (c.max_grad_norm > 0) optim::clip_grad_norm_async(policy_opt_->params(), c.max_grad_norm);
      policy_opt_->step();

      // Critic: the clipped value loss 0.5 max((V - G)^2, (V_old + clip(V - V_old) - G)^2).
      const Var v = slice(critic_->values(mb.tokens), 1, P - 1, P + L - 1);
      const Var value_loss = rl::ppo_value_loss(v, v_old, G, c.value_clip, /*clip=*/true, m, count);
      critic_opt_->zero_grad();
      value_loss.backward();
      if (c.max_grad_norm > 0) optim::clip_grad_norm_async(critic_opt_->params(), c.max_grad_norm);
      critic_opt_->step();

      tally.add(kPolicy, policy_loss.value());
      tally.add(kValue, value_loss.value());
      tally.add(kEntropy, ent.value());
      const Tensor ratio = exp(sub(logp.value(), lp_old));  // rho_t = pi / pi_old
      const Tensor outside = gt(abs(sub(ratio, 1.0)), c.clip).to(m.dtype());
      tally.add(kClipped, sum(mul(outside, m)), 1.0, count);
      ++updates;
    }
  }
  tally.read();
  if (updates > 0) {
    st.policy_loss = tally.sum(kPolicy) / double(updates);
    st.value_loss = tally.sum(kValue) / double(updates);
    st.entropy = tally.sum(kEntropy) / double(updates);
    st.clip_fraction = tally.sum(kClipped) / double(updates);
  }
  if (c.kl_target > 0) {  // the next iteration's coefficient
    double& coef = active_kl_coefficient(config_);
    coef = adapt_kl_coefficient(coef, st.kl, c.kl_target, c.kl_rate);
  }
  return st;
}

double& active_kl_coefficient(PPORLHFConfig& config) {
  return config.squared_kl_loss_coef > 0 ? config.squared_kl_loss_coef : config.kl_beta;
}

double active_kl_coefficient(const PPORLHFConfig& config) {
  return config.squared_kl_loss_coef > 0 ? config.squared_kl_loss_coef : config.kl_beta;
}

double adapt_kl_coefficient(double coefficient, double kl, double target, double rate) {
  GL_CHECK(target > 0 && std::isfinite(kl), "adapt_kl_coefficient: target {} must be > 0 and KL {} finite", target,
           kl);
  const double error = std::clamp(kl / target - 1.0, -0.2, 0.2);
  return coefficient * (1.0 + rate * error);
}

std::vector<PPOIterationStats> PPORLHF::train(int64_t iterations,
                                              const std::function<std::vector<Tokens>(int64_t)>& sample_prompts,
                                              const PPOCallback& on_iteration) {
  GL_CHECK(iterations >= 0 && sample_prompts, "PPORLHF::train: iterations {} (>= 0) and a prompt sampler", iterations);
  std::vector<PPOIterationStats> history;
  for (int64_t i = 0; i < iterations; ++i) {
    history.push_back(step(sample_prompts(config_.rollout_prompts)));
    if (on_iteration) on_iteration(history.back());
  }
  return history;
}

}  // namespace gradlab::alignment
