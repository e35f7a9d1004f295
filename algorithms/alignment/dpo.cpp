// DPO, cDPO and IPO on labelled preference pairs (equations in dpo.h).
#include "algorithms/alignment/dpo.h"

#include <algorithm>
#include <numeric>

#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/error.h"

namespace gradlab::alignment {

const char* preference_loss_name(PreferenceLoss l) {
  switch (l) {
    case PreferenceLoss::dpo: return "dpo";
    case PreferenceLoss::cdpo: return "cdpo";
    case PreferenceLoss::ipo: return "ipo";
  }
  return "?";
}

Var dpo_loss(const Var& policy_chosen, const Var& policy_rejected, const Tensor& ref_chosen, const Tensor& ref_rejected,
             const DPOConfig& c) {
  GL_CHECK(policy_chosen.dim() == 1 && policy_chosen.shape() == policy_rejected.shape() &&
               ref_chosen.shape() == policy_chosen.shape() && ref_rejected.shape() == policy_chosen.shape(),
           "dpo_loss: expected four [B] log-probs, got {} {} {} {}", policy_chosen.shape(), policy_rejected.shape(),
           ref_chosen.shape(), ref_rejected.shape());
  GL_CHECK(c.beta > 0, "dpo_loss: beta must be positive, got {}", c.beta);
  // h = (log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))
  const Var h = (policy_chosen - Var(ref_chosen)) - (policy_rejected - Var(ref_rejected));
  switch (c.loss) {
    case PreferenceLoss::dpo: return -mean(log_sigmoid(c.beta * h));  // DPO: -log sigma(beta h)
    case PreferenceLoss::cdpo: {
      const double eps = c.label_smoothing;
      GL_CHECK(eps >= 0 && eps < 0.5, "dpo_loss: cDPO label_smoothing must be in [0, 0.5), got {}", eps);
      // cDPO: -(1 - eps) log sigma(beta h) - eps log sigma(-beta h)
      return -mean((1 - eps) * log_sigmoid(c.beta * h) + eps * log_sigmoid(-c.beta * h));
    }
    case PreferenceLoss::ipo: return mean(square(h - 1.0 / (2.0 * c.beta)));  // IPO: (h - 1/(2 beta))^2
  }
  fail("dpo_loss: unknown loss {}", int(c.loss));
}

Var pair_logprobs(const nn::GPT& model, const std::vector<Tokens>& prompts, const std::vector<Tokens>& first,
                  const std::vector<Tokens>& second, bool mean_logprob) {
  std::vector<Tokens> x = prompts, y = first;
  x.insert(x.end(), prompts.begin(), prompts.end());
  y.insert(y.end(), second.begin(), second.end());
  const SequenceBatch b = make_batch(x, y, model.device());
  const nn::GPT::SequenceLogprob lp = model.sequence_logprob(b.tokens, b.response_mask);
  return mean_logprob ? lp.mean : lp.sum;
}

PairLogprobs pair_logprobs_nograd(const nn::GPT& model, const std::vector<Tokens>& prompts,
                                  const std::vector<Tokens>& first, const std::vector<Tokens>& second,
                                  bool mean_logprob) {
  GL_CHECK(prompts.size() == first.size() && prompts.size() == second.size(),
           "pair_logprobs_nograd: {} prompts, {} first and {} second responses", prompts.size(), first.size(),
           second.size());
  NoGradGuard no_grad;
  PairLogprobs out;
  const size_t N = prompts.size();
  for (size_t s = 0; s < N; s += 256) {
    const size_t e = std::min(N, s + 256);
    auto rows = [&](const std::vector<Tokens>& v) {
      return std::vector<Tokens>(v.begin() + std::ptrdiff_t(s), v.begin() + std::ptrdiff_t(e));
    };
    const auto lp = pair_logprobs(model, rows(prompts), rows(first), rows(second), mean_logprob)
                        .value()
                        .to(DType::f64)
                        .to_vector<double>();
    out.first.insert(out.first.end(), lp.begin(), lp.begin() + std::ptrdiff_t(e - s));
    out.second.insert(out.second.end(), lp.begin() + std::ptrdiff_t(e - s), lp.end());
  }
  return out;
}

DPOHistory train_dpo(nn::GPT& policy, const nn::GPT& reference, const std::vector<PreferencePair>& pairs,
                     const DPOConfig& c, Generator& gen, const ExtraLoss& extra_loss,
                     const AfterStep& after_step) {
  GL_CHECK(!pairs.empty() && c.epochs >= 0 && c.batch_size >= 1, "train_dpo: {} pairs, epochs {}, batch_size {}",
           pairs.size(), c.epochs, c.batch_size);
  const int64_t N = int64_t(pairs.size());
  // The reference log-probs never change: compute them once.
  std::vector<Tokens> x, yc, yr;
  for (const PreferencePair& p : pairs) {
    x.push_back(p.prompt);
    yc.push_back(p.chosen);
    yr.push_back(p.rejected);
  }
  const PairLogprobs ref = pair_logprobs_nograd(reference, x, yc, yr, c.mean_logprob);
  const std::vector<double>&ref_c = ref.first, &ref_r = ref.second;
  optim::AdamW opt(policy.trainable_parameters(), {.lr = c.lr, .weight_decay = c.weight_decay});
  DPOHistory h;
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  policy.train();
  int64_t steps_done = 0;
  // The epoch's sums: on a device they stay there and are read once an epoch.
  enum { kLoss, kRight, kMargin };
  optim::StepTally tally("DPO", policy.device(), 3);
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    shuffle(order, gen);
    tally.reset_sums();
    for (int64_t s = 0; s < N; s += c.batch_size) {
      const int64_t e = std::min(N, s + c.batch_size), n = e - s;
      std::vector<Tokens> x, yc, yr;
      std::vector<float> rc, rr;
      for (int64_t k = s; k < e; ++k) {
        const PreferencePair& p = pairs[size_t(order[size_t(k)])];
        x.push_back(p.prompt);
        yc.push_back(p.chosen);
        yr.push_back(p.rejected);
        rc.push_back(float(ref_c[size_t(order[size_t(k)])]));
        rr.push_back(float(ref_r[size_t(order[size_t(k)])]));
      }
      const Var lp = pair_logprobs(policy, x, yc, yr, c.mean_logprob);
      const Var pc = narrow(lp, 0, 0, n), pr = narrow(lp, 0, n, n);
      // The reference log-probs of the minibatch cross to the device in one copy.
      std::vector<float> ref_both = rc;
      ref_both.insert(ref_both.end(), rr.begin(), rr.end());
      const Tensor ref_mb = from_vector(ref_both, {2 * n}).to(lp.device()).to(lp.dtype());
      const Tensor tc = ref_mb.narrow(0, 0, n), tr = ref_mb.narrow(0, n, n);
      const Var dpo = dpo_loss(pc, pr, tc, tr, c);
      const Var loss = extra_loss ? dpo + extra_loss() : dpo;
      tally.check_finite(loss, epoch);
      opt.zero_grad();
      loss.backward();
      if (c.max_grad_norm > 0) optim::clip_grad_norm_async(opt.params(), c.max_grad_norm);
      opt.step();
      ++steps_done;
      if (after_step) after_step(steps_done);
      const Tensor hv = sub(sub(pc.value(), tc), sub(pr.value(), tr));
      tally.add(kLoss, dpo.value(), double(n));
      tally.add(kRight, sum(gt(hv, 0.0)));
      tally.add(kMargin, sum(hv), c.beta);
    }
    tally.read();
    h.loss.push_back(tally.sum(kLoss) / double(N));
    h.reward_accuracy.push_back(tally.sum(kRight) / double(N));
    h.margin.push_back(tally.sum(kMargin) / double(N));
  }
  policy.eval();
  return h;
}

}  // namespace gradlab::alignment
