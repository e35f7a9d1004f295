// OSP's online loop: sample, self-judge against a baseline response, ranked
// pairing with soft strengths, SPCE (equations in osp.h).
#include "algorithms/alignment/osp.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "algorithms/alignment/dpo.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/backend.h"
#include "tensor/error.h"

namespace gradlab::alignment {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double logit(double s) {
  s = std::clamp(s, 1e-6, 1.0 - 1e-6);
  return std::log(s / (1.0 - s));
}

double sigmoid_of(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

Var spce_loss(const Var& policy_better, const Var& policy_worse, const Tensor& ref_better, const Tensor& ref_worse,
              const Tensor& strength, double beta) {
  GL_CHECK(policy_better.dim() == 1 && policy_worse.shape() == policy_better.shape() &&
               ref_better.shape() == policy_better.shape() && ref_worse.shape() == policy_better.shape() &&
               strength.shape() == policy_better.shape(),
           "spce_loss: expected five [B] tensors (log-probs better, worse, reference better, worse, strengths), got "
           "{} {} {} {} {}",
           policy_better.shape(), policy_worse.shape(), ref_better.shape(), ref_worse.shape(), strength.shape());
  GL_CHECK(beta > 0, "spce_loss: beta must be positive, got {}", beta);
  if (strength.device() == Device::cpu) {
    const double p_min = min(strength).item(), p_max = max(strength).item();
    GL_CHECK(p_min >= 0 && p_max <= 1, "spce_loss: strengths must lie in [0, 1], got [{}, {}]", p_min, p_max);
  } else if (strength.numel() > 0) {  // counted on the device, not read back (tensor/backend.h: check_none_bad)
    const Tensor outside = add(sum(lt(strength, 0.0).to(DType::i64)), sum(gt(strength, 1.0).to(DType::i64)));
    check_none_bad(add(outside, sum(ne(strength, strength).to(DType::i64))),
                   "spce_loss: strengths outside [0, 1] (or NaN)");
  }
  // h = (log pi - log pi_ref)(better) - (log pi - log pi_ref)(worse), scaled by beta
  const Var z = beta * ((policy_better - Var(ref_better)) - (policy_worse - Var(ref_worse)));
  const Var p(strength.to(z.dtype()));
  // -[p log sigma(z) + (1 - p) log sigma(-z)]: the cross-entropy of sigma(z) against the soft label p
  return -mean(p * log_sigmoid(z) + (1.0 - p) * log_sigmoid(-z));
}

double pair_strength(double s_i, double s_j) { return sigmoid_of(logit(s_i) - logit(s_j)); }

Pairing pairing_from_string(const std::string& name) {
  for (Pairing p : {Pairing::mirror, Pairing::all})
    if (name == pairing_name(p)) return p;
  fail("osp: unknown pairing '{}' (mirror, all)", name);
}
const char* pairing_name(Pairing p) { return p == Pairing::mirror ? "mirror" : "all"; }

BaselineResponse baseline_from_string(const std::string& name) {
  for (BaselineResponse b : {BaselineResponse::greedy, BaselineResponse::sample, BaselineResponse::sft})
    if (name == baseline_name(b)) return b;
  fail("osp: unknown baseline response '{}' (greedy, sample, sft)", name);
}
const char* baseline_name(BaselineResponse b) {
  switch (b) {
    case BaselineResponse::greedy: return "greedy";
    case BaselineResponse::sample: return "sample";
    case BaselineResponse::sft: return "sft";
  }
  fail("osp: unknown baseline response {}", int(b));
}

StrengthMode strength_from_string(const std::string& name) {
  for (StrengthMode m : {StrengthMode::soft, StrengthMode::binary, StrengthMode::constant})
    if (name == strength_name(m)) return m;
  fail("osp: unknown strength '{}' (soft, binary, constant)", name);
}
const char* strength_name(StrengthMode m) {
  switch (m) {
    case StrengthMode::soft: return "soft";
    case StrengthMode::binary: return "binary";
    case StrengthMode::constant: return "constant";
  }
  fail("osp: unknown strength {}", int(m));
}

std::vector<RankedPair> ranked_pairs(const std::vector<double>& scores, Pairing pairing) {
  const int64_t K = int64_t(scores.size());
  GL_CHECK(K >= 2, "ranked_pairs: need at least 2 scored responses, got {}", K);
  for (double s : scores) GL_CHECK(std::isfinite(s), "ranked_pairs: a score is not finite ({})", s);
  std::vector<int64_t> rank(static_cast<size_t>(K));  // rank[0] = index of the highest score
  std::iota(rank.begin(), rank.end(), 0);
  std::stable_sort(rank.begin(), rank.end(),
                   [&](int64_t a, int64_t b) { return scores[size_t(a)] > scores[size_t(b)]; });
  std::vector<RankedPair> pairs;
  auto add = [&](int64_t i, int64_t j) {  // ranks i < j
    const int64_t b = rank[size_t(i)], w = rank[size_t(j)];
    pairs.push_back({b, w, pair_strength(scores[size_t(b)], scores[size_t(w)])});
  };
  if (pairing == Pairing::mirror) {
    for (int64_t i = 0; i < K / 2; ++i) add(i, K - 1 - i);  // rank i+1 with rank K-i (1-based)
  } else {
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = i + 1; j < K; ++j) add(i, j);
  }
  return pairs;
}

OSP::OSP(std::shared_ptr<nn::GPT> policy, std::shared_ptr<const nn::GPT> reference, std::shared_ptr<const nn::GPT> sft,
         const OSPConfig& config, SelfJudgeOptions judge, uint64_t seed)
    : policy_(std::move(policy)),
      reference_(std::move(reference)),
      sft_(std::move(sft)),
      config_(config),
      judge_(policy_, judge),
      gen_(seed) {
  GL_CHECK(reference_, "OSP: no reference policy");
  GL_CHECK(config_.samples_per_prompt >= 2, "OSP: samples_per_prompt (K) must be at least 2, got {}",
           config_.samples_per_prompt);
  GL_CHECK(config_.beta > 0 && config_.response_len >= 1 && config_.epochs >= 0 && config_.batch_size >= 1,
           "OSP: beta {} response_len {} epochs {} batch_size {}", config_.beta, config_.response_len, config_.epochs,
           config_.batch_size);
  GL_CHECK(config_.constant_strength >= 0.5 && config_.constant_strength <= 1,
           "OSP: constant_strength must be in [0.5, 1], got {}", config_.constant_strength);
  GL_CHECK(config_.baseline != BaselineResponse::sft || sft_, "OSP: the sft baseline response needs the SFT policy");
  opt_ = std::make_unique<optim::AdamW>(policy_->trainable_parameters(),
                                        optim::AdamWOptions{.lr = config_.lr, .weight_decay = config_.weight_decay});
}

std::vector<SoftPair> OSP::make_pairs(const std::vector<Tokens>& prompts, OSPIterationStats* stats) {
  GL_CHECK(!prompts.empty(), "OSP::make_pairs: no prompts");
  const int64_t K = config_.samples_per_prompt, L = config_.response_len;
  policy_->eval();
  // 1. K samples per prompt: rows p*K + k.
  auto t0 = std::chrono::steady_clock::now();
  std::vector<Tokens> xs;
  for (const Tokens& x : prompts)
    for (int64_t k = 0; k < K; ++k) xs.push_back(x);
  const std::vector<Tokens> ys = sample_responses(*policy_, xs, L, gen_);
  std::vector<Tokens> baseline;
  switch (config_.baseline) {
    case BaselineResponse::greedy: baseline = sample_responses(*policy_, prompts, L, gen_, {.greedy = true}); break;
    case BaselineResponse::sample: baseline = sample_responses(*policy_, prompts, L, gen_); break;
    case BaselineResponse::sft: baseline = sample_responses(*sft_, prompts, L, gen_); break;
  }
  const double t_sample = seconds_since(t0);
  // 2. Self-judging against the baseline: s_k = P(y_k > y_b | x).
  t0 = std::chrono::steady_clock::now();
  std::vector<Tokens> bs;
  for (const Tokens& b : baseline)
    for (int64_t k = 0; k < K; ++k) bs.push_back(b);
  const std::vector<double> win = judge_.win_probability(xs, ys, bs);
  const double t_judge = seconds_since(t0);
  std::vector<double> gold;
  if (gold_) gold = gold_(xs, ys);
  // 3. Ranked pairing with strengths.
  std::vector<SoftPair> out;
  double agree = 0, decided = 0, strength_sum = 0;
  for (size_t p = 0; p < prompts.size(); ++p) {
    std::vector<double> s(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) s[size_t(k)] = win[p * size_t(K) + size_t(k)];
    for (const RankedPair& rp : ranked_pairs(s, config_.pairing)) {
      const size_t b = p * size_t(K) + size_t(rp.better), w = p * size_t(K) + size_t(rp.worse);
      const double strength = config_.strength == StrengthMode::soft     ? rp.strength
                              : config_.strength == StrengthMode::binary ? 1.0
                                                                         : config_.constant_strength;
      out.push_back({prompts[p], ys[b], ys[w], strength});
      strength_sum += strength;
      if (!gold.empty() && gold[b] != gold[w]) {
        decided += 1;
        agree += gold[b] > gold[w];
      }
    }
  }
  if (stats) {
    stats->pairs = int64_t(out.size());
    stats->mean_strength = out.empty() ? 0 : strength_sum / double(out.size());
    stats->judge_agreement = decided > 0 ? agree / decided : NAN;
    stats->seconds_sample = t_sample;
    stats->seconds_judge = t_judge;
  }
  return out;
}

void OSP::train_on(const std::vector<SoftPair>& pairs, OSPIterationStats* stats) {
  GL_CHECK(!pairs.empty(), "OSP::train_on: no pairs");
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t N = int64_t(pairs.size());
  // The reference log-probs of every pair, once.
  std::vector<Tokens> xs, bs, ws;
  for (const SoftPair& p : pairs) {
    xs.push_back(p.prompt);
    bs.push_back(p.better);
    ws.push_back(p.worse);
  }
  const PairLogprobs ref = pair_logprobs_nograd(*reference_, xs, bs, ws, config_.mean_logprob);
  const std::vector<double>&ref_b = ref.first, &ref_w = ref.second;
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  // The minibatches' sums: on a device they stay there, read once after the epochs.
  enum { kLoss, kMargin };
  optim::StepTally tally("OSP", policy_->device(), 2);
  double seen = 0;
  policy_->train();
  for (int64_t epoch = 0; epoch < config_.epochs; ++epoch) {
    shuffle(order, gen_);
    for (int64_t s = 0; s < N; s += config_.batch_size) {
      const int64_t e = std::min(N, s + config_.batch_size), n = e - s;
      std::vector<Tokens> x, yb, yw;
      std::vector<double> rb, rw, p;
      for (int64_t k = s; k < e; ++k) {
        const size_t i = size_t(order[size_t(k)]);
        x.push_back(pairs[i].prompt);
        yb.push_back(pairs[i].better);
        yw.push_back(pairs[i].worse);
        rb.push_back(ref_b[i]);
        rw.push_back(ref_w[i]);
        p.push_back(pairs[i].strength);
      }
      const Var lp = pair_logprobs(*policy_, x, yb, yw, config_.mean_logprob);
      const Var pb = narrow(lp, 0, 0, n), pw = narrow(lp, 0, n, n);
      const Device dev = lp.device();
      const Tensor tb = from_vector(rb, {n}).to(dev).to(lp.dtype()), tw = from_vector(rw, {n}).to(dev).to(lp.dtype());
      const Var loss = spce_loss(pb, pw, tb, tw, from_vector(p, {n}).to(dev), config_.beta);
      tally.check_finite(loss, iteration_);
      opt_->zero_grad();
      loss.backward();
      if (config_.max_grad_norm > 0) optim::clip_grad_norm_async(opt_->params(), config_.max_grad_norm);
      opt_->step();
      tally.add(kLoss, loss.value(), double(n));
      tally.add(kMargin, sum(sub(sub(pb.value(), tb), sub(pw.value(), tw))).to(DType::f64), config_.beta);
      seen += double(n);
    }
  }
  tally.read();
  policy_->eval();
  if (stats) {
    stats->loss = seen > 0 ? tally.sum(kLoss) / seen : 0;
    stats->margin = seen > 0 ? tally.sum(kMargin) / seen : 0;
    stats->seconds_train = seconds_since(t0);
  }
}

OSPIterationStats OSP::step(const std::vector<Tokens>& prompts) {
  OSPIterationStats stats;
  stats.iteration = iteration_++;
  const std::vector<SoftPair> pairs = make_pairs(prompts, &stats);
  train_on(pairs, &stats);
  return stats;
}

}  // namespace gradlab::alignment
