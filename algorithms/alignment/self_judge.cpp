// OSP's self-judge: a reward head on the policy's trunk, or the policy's own
// verdict word after a judge prompt (self_judge.h).
#include "algorithms/alignment/self_judge.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/alignment/sft.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/error.h"

namespace gradlab::alignment {

namespace pref = envs::preference;

JudgeKind judge_kind_from_string(const std::string& name) {
  for (JudgeKind k : {JudgeKind::head, JudgeKind::verdict_token})
    if (name == judge_kind_name(k)) return k;
  fail("self judge: unknown kind '{}' (head, verdict_token)", name);
}
const char* judge_kind_name(JudgeKind k) { return k == JudgeKind::head ? "head" : "verdict_token"; }

SelfJudge::SelfJudge(std::shared_ptr<nn::GPT> model, SelfJudgeOptions options)
    : model_(std::move(model)), options_(options), good_(pref::word_id("good")), bad_(pref::word_id("bad")) {
  GL_CHECK(model_, "SelfJudge: no model");
  GL_CHECK(options_.kind != JudgeKind::head || model_->reward_head,
           "SelfJudge: the head judge needs a GPT with a reward head (GPTConfig::reward_head)");
}

Var SelfJudge::preference_logit(const std::vector<Tokens>& prompts, const std::vector<Tokens>& first,
                                const std::vector<Tokens>& second) const {
  GL_CHECK(!prompts.empty() && prompts.size() == first.size() && prompts.size() == second.size(),
           "SelfJudge::preference_logit: {} prompts, {} first and {} second responses", prompts.size(), first.size(),
           second.size());
  const int64_t n = int64_t(prompts.size());
  if (options_.kind == JudgeKind::head) {  // r(x, a) - r(x, b), both rows in one forward
    const RewardModel rm(model_, {.pooling = options_.pooling});
    std::vector<Tokens> x = prompts, y = first;
    x.insert(x.end(), prompts.begin(), prompts.end());
    y.insert(y.end(), second.begin(), second.end());
    const Var r = rm.score(make_batch(x, y, model_->device()));
    return narrow(r, 0, 0, n) - narrow(r, 0, n, n);
  }
  // The judge prompt [x, a, b]: the next-token logits at its last position, good minus bad.
  std::vector<Tokens> both(static_cast<size_t>(n));
  for (size_t i = 0; i < both.size(); ++i) {
    both[i] = first[i];
    both[i].insert(both[i].end(), second[i].begin(), second[i].end());
  }
  const SequenceBatch b = make_batch(prompts, both, model_->device());
  const int64_t T = b.tokens.size(1);
  GL_CHECK(T <= model_->config().context, "SelfJudge: the judge prompt has {} tokens, the model's context is {}", T,
           model_->config().context);
  const Var last = select(model_->forward(b.tokens), 1, T - 1);  // [B, V]
  const Var good = select(last, 1, good_), bad = select(last, 1, bad_);
  return good - bad;
}

std::vector<double> SelfJudge::win_probability(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses,
                                               const std::vector<Tokens>& baselines) const {
  GL_CHECK(prompts.size() == responses.size() && prompts.size() == baselines.size(),
           "SelfJudge::win_probability: {} prompts, {} responses, {} baselines", prompts.size(), responses.size(),
           baselines.size());
  NoGradGuard no_grad;
  auto sigmoid = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  std::vector<double> out;
  const size_t chunk = 512;
  for (size_t s = 0; s < prompts.size(); s += chunk) {
    const size_t e = std::min(prompts.size(), s + chunk);
    const std::vector<Tokens> x(prompts.begin() + std::ptrdiff_t(s), prompts.begin() + std::ptrdiff_t(e));
    const std::vector<Tokens> y(responses.begin() + std::ptrdiff_t(s), responses.begin() + std::ptrdiff_t(e));
    const std::vector<Tokens> yb(baselines.begin() + std::ptrdiff_t(s), baselines.begin() + std::ptrdiff_t(e));
    const auto d = preference_logit(x, y, yb).value().to(DType::f64).to_vector<double>();
    if (options_.kind == JudgeKind::head) {
      for (double v : d) out.push_back(sigmoid(v));  // sigma(r(x, y) - r(x, y_b))
    } else {                                         // both orders: (sigma(d(x, y, y_b)) + sigma(-d(x, y_b, y))) / 2
      const auto r = preference_logit(x, yb, y).value().to(DType::f64).to_vector<double>();
      for (size_t i = 0; i < d.size(); ++i) out.push_back(0.5 * (sigmoid(d[i]) + sigmoid(-r[i])));
    }
  }
  return out;
}

double SelfJudge::accuracy_vs_gold(const std::vector<PreferencePair>& pairs) const {
  std::vector<Tokens> x, a, b;
  std::vector<double> gap;
  for (const auto& p : pairs) {
    if (p.gold_chosen == p.gold_rejected) continue;
    x.push_back(p.prompt);
    a.push_back(p.chosen);
    b.push_back(p.rejected);
    gap.push_back(p.gold_chosen - p.gold_rejected);
  }
  GL_CHECK(!x.empty(), "SelfJudge::accuracy_vs_gold: no pairs with distinct gold rewards among {}", pairs.size());
  const std::vector<double> s = win_probability(x, a, b);
  double right = 0;
  for (size_t i = 0; i < s.size(); ++i) right += (s[i] - 0.5) * gap[i] > 0;
  return right / double(s.size());
}

JudgeWarmStartHistory warm_start_judge(const SelfJudge& judge, const std::vector<PreferencePair>& pairs,
                                       const std::vector<pref::Sequence>& corpus, const JudgeWarmStartConfig& c,
                                       Generator& gen) {
  GL_CHECK(!pairs.empty() && c.epochs >= 0 && c.batch_size >= 1 && c.lm_coef >= 0,
           "warm_start_judge: {} pairs, epochs {}, batch_size {}, lm_coef {}", pairs.size(), c.epochs, c.batch_size,
           c.lm_coef);
  GL_CHECK(c.lm_coef == 0 || !corpus.empty(), "warm_start_judge: lm_coef {} needs a corpus", c.lm_coef);
  nn::GPT& model = judge.model();
  optim::AdamW opt(model.trainable_parameters(), {.lr = c.lr});
  JudgeWarmStartHistory h;
  std::vector<int64_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  // The epoch's sums: on a device they stay there, read once an epoch.
  enum { kJudge, kLm };
  optim::StepTally tally("judge warm start", model.device(), 2);
  model.train();
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    shuffle(order, gen);
    tally.reset_sums();
    double batches = 0;
    for (size_t s = 0; s < order.size(); s += size_t(c.batch_size)) {
      const size_t e = std::min(order.size(), s + size_t(c.batch_size));
      std::vector<Tokens> x, yw, yl;
      for (size_t k = s; k < e; ++k) {
        const PreferencePair& p = pairs[size_t(order[k])];
        x.push_back(p.prompt);
        yw.push_back(p.chosen);
        yl.push_back(p.rejected);
      }
      // -log sigma(logit P(y_w > y_l)); the verdict judge also sees the reversed order, labelled "bad".
      Var loss = -mean(log_sigmoid(judge.preference_logit(x, yw, yl)));
      if (judge.options().kind == JudgeKind::verdict_token)
        loss = 0.5 * (loss - mean(log_sigmoid(-judge.preference_logit(x, yl, yw))));
      tally.add(kJudge, loss.value());
      if (c.lm_coef > 0) {  // keep the language model: NLL on a corpus minibatch of the same size
        std::vector<Tokens> cx, cy;
        for (size_t b = s; b < e; ++b) {
          const auto& seq = corpus[size_t(pref::uniform_int(int64_t(corpus.size()), gen))];
          cx.push_back(seq.prompt);
          cy.push_back(seq.response);
        }
        const Var lm = sft_loss(model, make_batch(cx, cy, model.device()));
        tally.add(kLm, lm.value());
        loss = loss + c.lm_coef * lm;
      }
      tally.check_finite(loss, epoch);
      opt.zero_grad();
      loss.backward();
      if (c.max_grad_norm > 0) optim::clip_grad_norm_async(opt.params(), c.max_grad_norm);
      opt.step();
      batches += 1;
    }
    tally.read();
    h.judge_loss.push_back(tally.sum(kJudge) / batches);
    h.lm_loss.push_back(tally.sum(kLm) / batches);
  }
  model.eval();
  return h;
}

}  // namespace gradlab::alignment
