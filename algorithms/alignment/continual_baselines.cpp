// The continual-learning baselines: in-order and multi-task SFT, DPO with
// replay, EWC, L2 to the previous model and KL distillation on replay
// (equations in continual_baselines.h).
#include "algorithms/alignment/continual_baselines.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"

namespace gradlab::alignment {

std::vector<PreferencePair> ranking_pairs(const std::vector<Ranking>& rankings) {
  std::vector<PreferencePair> pairs;
  for (const Ranking& r : rankings)
    for (size_t i = 0; i < r.responses.size(); ++i)
      for (size_t j = i + 1; j < r.responses.size(); ++j) {
        if (r.gold[i] == r.gold[j]) continue;  // a tie says nothing
        const bool first = r.gold[i] > r.gold[j];
        pairs.push_back({.prompt = r.prompt,
                         .chosen = first ? r.responses[i] : r.responses[j],
                         .rejected = first ? r.responses[j] : r.responses[i],
                         .gold_chosen = std::max(r.gold[i], r.gold[j]),
                         .gold_rejected = std::min(r.gold[i], r.gold[j])});
      }
  return pairs;
}

std::vector<Sequence> top_responses(const std::vector<Ranking>& rankings) {
  std::vector<Sequence> out;
  for (const Ranking& r : rankings) out.push_back({.prompt = r.prompt, .response = r.responses.front()});
  return out;
}

std::vector<Tensor> diagonal_fisher(const nn::GPT& model, const std::vector<Tokens>& prompts,
                                    const std::vector<Tokens>& responses, bool mean_logprob) {
  GL_CHECK(!prompts.empty() && prompts.size() == responses.size(),
           "diagonal_fisher: {} prompts and {} responses (need equal, non-zero counts)", prompts.size(),
           responses.size());
  const std::vector<Var> params = model.trainable_parameters();
  std::vector<Tensor> fisher;
  for (const Var& p : params) fisher.push_back(zeros(p.shape(), DType::f64, p.device()));
  for (size_t n = 0; n < prompts.size(); ++n) {
    for (const Var& p : params) p.zero_grad();
    const SequenceBatch b = make_batch({prompts[n]}, {responses[n]}, model.device());
    const auto lp = model.sequence_logprob(b.tokens, b.response_mask);
    sum(mean_logprob ? lp.mean : lp.sum).backward();  // d log pi(y_n|x_n) / d theta
    for (size_t k = 0; k < params.size(); ++k)
      if (params[k].grad().defined()) fisher[k] = add(fisher[k], square(params[k].grad().to(DType::f64)));
  }
  for (const Var& p : params) p.zero_grad();
  for (size_t k = 0; k < params.size(); ++k)
    fisher[k] = div(fisher[k], double(prompts.size())).to(params[k].dtype());  // (1/N) sum_n g_n^2
  return fisher;
}

Var ewc_penalty(const std::vector<Var>& params, const std::vector<Tensor>& anchor, const std::vector<Tensor>& fisher) {
  GL_CHECK(params.size() == anchor.size() && params.size() == fisher.size() && !params.empty(),
           "ewc_penalty: {} parameters, {} anchors, {} Fisher tensors", params.size(), anchor.size(), fisher.size());
  Var total;
  for (size_t k = 0; k < params.size(); ++k) {
    GL_CHECK(anchor[k].shape() == params[k].shape() && fisher[k].shape() == params[k].shape(),
             "ewc_penalty: parameter {} is {}, its anchor {} and Fisher {}", k, params[k].shape(), anchor[k].shape(),
             fisher[k].shape());
    const Var term = sum(Var(fisher[k]) * square(params[k] - Var(anchor[k])));  // sum F (theta - theta*)^2
    total = k == 0 ? term : total + term;
  }
  return total;
}

Var l2_penalty(const std::vector<Var>& params, const std::vector<Tensor>& anchor) {
  GL_CHECK(params.size() == anchor.size() && !params.empty(), "l2_penalty: {} parameters and {} anchors", params.size(),
           anchor.size());
  Var total;
  for (size_t k = 0; k < params.size(); ++k) {
    GL_CHECK(anchor[k].shape() == params[k].shape(), "l2_penalty: parameter {} is {}, its anchor {}", k,
             params[k].shape(), anchor[k].shape());
    const Var term = sum(square(params[k] - Var(anchor[k])));  // sum (theta - theta*)^2
    total = k == 0 ? term : total + term;
  }
  return total;
}

Var distillation_kl(const nn::GPT& student, const nn::GPT& teacher, const SequenceBatch& batch) {
  const int64_t T = batch.tokens.size(1);
  Tensor teacher_logp;
  {
    NoGradGuard no_grad;
    teacher_logp = log_softmax(teacher.forward(batch.tokens).value().slice(1, 0, T - 1).contiguous(), -1);
  }
  const Var student_logp = log_softmax(slice(student.forward(batch.tokens), 1, 0, T - 1), -1);  // [B, T-1, V]
  const Var p(exp(teacher_logp));
  const Var kl = sum(p * (Var(teacher_logp) - student_logp), {2});                  // KL per position, [B, T-1]
  const Tensor m = batch.response_mask.slice(1, 1, T).contiguous().to(kl.dtype());  // the response tokens
  // Divided by max(1, tokens): f64 as a host number would be, then the loss's dtype; nothing read back.
  const Tensor tokens = maximum(sum(m).to(DType::f64), 1.0).to(kl.dtype());
  return sum(kl * Var(m)) / Var(tokens);
}

const char* continual_baseline_name(ContinualBaseline b) {
  switch (b) {
    case ContinualBaseline::sft_inorder: return "sft_inorder";
    case ContinualBaseline::sft_multitask: return "sft_multitask";
    case ContinualBaseline::dpo_replay: return "dpo_replay";
    case ContinualBaseline::dpo_multitask: return "dpo_multitask";
    case ContinualBaseline::ewc: return "ewc";
    case ContinualBaseline::l2: return "l2";
    case ContinualBaseline::kl_replay: return "kl_replay";
  }
  return "?";
}

ContinualBaseline continual_baseline_from_name(const std::string& name) {
  for (ContinualBaseline b :
       {ContinualBaseline::sft_inorder, ContinualBaseline::sft_multitask, ContinualBaseline::dpo_replay,
        ContinualBaseline::ewc, ContinualBaseline::l2, ContinualBaseline::kl_replay})
    if (name == continual_baseline_name(b)) return b;
  fail(
      "continual_baseline_from_name: unknown baseline '{}' (sft_inorder, sft_multitask, dpo_replay, ewc, l2, "
      "kl_replay)",
      name);
}

ContinualBaselineLearner::ContinualBaselineLearner(std::shared_ptr<nn::GPT> policy, ContinualBaseline method,
                                                   const ContinualBaselineConfig& c, uint64_t seed)
    : policy_(std::move(policy)), method_(method), config_(c), gen_(seed) {
  GL_CHECK(policy_ != nullptr, "ContinualBaselineLearner: no policy");
  GL_CHECK(c.sft_epochs > 0 && c.replay_fraction >= 0 && c.replay_fraction <= 1 && c.ewc_coef >= 0 && c.l2_coef >= 0 &&
               c.kl_coef >= 0 && c.replay_batch >= 1 && c.fisher_samples >= 1,
           "ContinualBaselineLearner: sft_epochs {} > 0, replay_fraction {} in [0, 1], coefficients ewc {}, l2 {}, "
           "kl {} >= 0, replay_batch {} and fisher_samples {} >= 1",
           c.sft_epochs, c.replay_fraction, c.ewc_coef, c.l2_coef, c.kl_coef, c.replay_batch, c.fisher_samples);
}

void ContinualBaselineLearner::learn_task(const std::vector<Ranking>& data) {
  GL_CHECK(!data.empty(), "ContinualBaselineLearner::learn_task: no rankings");
  const std::vector<Var> params = policy_->trainable_parameters();
  auto snapshot = [&] {
    std::vector<Tensor> s;
    for (const Var& p : params) s.push_back(p.value().clone());
    return s;
  };
  if (method_ == ContinualBaseline::sft_inorder || method_ == ContinualBaseline::sft_multitask) {
    if (method_ == ContinualBaseline::sft_multitask) seen_.insert(seen_.end(), data.begin(), data.end());
    const std::vector<Sequence> sft_data = top_responses(method_ == ContinualBaseline::sft_multitask ? seen_ : data);
    SFTConfig sft = config_.sft;
    sft.steps =
        std::max<int64_t>(1, int64_t(std::ceil(config_.sft_epochs * double(sft_data.size()) / double(sft.batch_size))));
    train_sft(*policy_, sft_data, sft, gen_);
    return;
  }
  const auto reference = clone_gpt(*policy_);  // pi_{t-1}: DPO's reference and the distillation teacher
  if (method_ == ContinualBaseline::dpo_multitask) seen_.insert(seen_.end(), data.begin(), data.end());
  std::vector<Ranking> train = method_ == ContinualBaseline::dpo_multitask ? seen_ : data;
  if (method_ == ContinualBaseline::dpo_replay) train.insert(train.end(), memory_.begin(), memory_.end());
  const std::vector<PreferencePair> pairs = ranking_pairs(train);
  GL_CHECK(!pairs.empty(), "ContinualBaselineLearner::learn_task: every ranking is a tie; no pairs");
  ExtraLoss extra;
  const double half_ewc = 0.5 * config_.ewc_coef;
  if (method_ == ContinualBaseline::ewc && !fisher_.empty())
    extra = [&] { return half_ewc * ewc_penalty(params, anchor_, fisher_); };  // (c/2) sum F (theta - theta*)^2
  if (method_ == ContinualBaseline::l2) {
    anchor_ = snapshot();
    extra = [&] { return config_.l2_coef * l2_penalty(params, anchor_); };
  }
  if (method_ == ContinualBaseline::kl_replay && !memory_.empty()) {
    extra = [&] {  // distillation on a minibatch of replayed responses
      std::vector<Tokens> x, y;
      for (int64_t b = 0; b < config_.replay_batch; ++b) {
        const Ranking& r = memory_[size_t(envs::preference::uniform_int(int64_t(memory_.size()), gen_))];
        x.push_back(r.prompt);
        y.push_back(r.responses[size_t(envs::preference::uniform_int(int64_t(r.responses.size()), gen_))]);
      }
      return config_.kl_coef * distillation_kl(*policy_, *reference, make_batch(x, y, policy_->device()));
    };
  }
  train_dpo(*policy_, *reference, pairs, config_.dpo, gen_, extra);

  if (method_ == ContinualBaseline::ewc) {  // this task's Fisher joins the sum; the anchor moves here
    std::vector<int64_t> idx(data.size());
    std::iota(idx.begin(), idx.end(), 0);
    shuffle(idx, gen_);
    idx.resize(std::min(idx.size(), size_t(config_.fisher_samples)));
    std::vector<Tokens> x, y;
    for (int64_t i : idx) {
      x.push_back(data[size_t(i)].prompt);
      y.push_back(data[size_t(i)].responses.front());
    }
    const std::vector<Tensor> f = diagonal_fisher(*policy_, x, y, config_.dpo.mean_logprob);
    if (fisher_.empty())
      fisher_ = f;
    else
      for (size_t k = 0; k < f.size(); ++k) fisher_[k] = add(fisher_[k], f[k]);
    anchor_ = snapshot();
  }
  if (method_ == ContinualBaseline::dpo_replay || method_ == ContinualBaseline::kl_replay)
    for (int64_t i : replay_indices(int64_t(data.size()), config_.replay_fraction, gen_))
      memory_.push_back(data[size_t(i)]);
}

}  // namespace gradlab::alignment
