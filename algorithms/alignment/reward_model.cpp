// The Bradley-Terry reward model: a GPT trunk with a scalar head, trained on
// labelled preference pairs (docs/papers/alignment-baselines.md,
// "Bradley-Terry reward model").
#include "algorithms/alignment/reward_model.h"

#include <algorithm>
#include <numeric>

#include "dist/data_parallel.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/step_tally.h"
#include "tensor/error.h"

namespace gradlab::alignment {

Var bradley_terry_loss(const Var& r_chosen, const Var& r_rejected) {
  GL_CHECK(r_chosen.shape() == r_rejected.shape() && r_chosen.dim() == 1,
           "bradley_terry_loss: expected two [B] rewards, got {} and {}", r_chosen.shape(), r_rejected.shape());
  return -mean(log_sigmoid(r_chosen - r_rejected));  // -log sigma(r_w - r_l): Bradley-Terry likelihood
}

RewardPooling reward_pooling_from_string(const std::string& name) {
  for (RewardPooling p : {RewardPooling::last_token, RewardPooling::token_sum, RewardPooling::token_mean})
    if (name == reward_pooling_name(p)) return p;
  fail("reward model: unknown pooling '{}' (last_token, token_sum, token_mean)", name);
}

const char* reward_pooling_name(RewardPooling pooling) {
  switch (pooling) {
    case RewardPooling::last_token: return "last_token";
    case RewardPooling::token_sum: return "token_sum";
    case RewardPooling::token_mean: return "token_mean";
  }
  fail("reward model: unknown pooling {}", int(pooling));
}

RewardModel::RewardModel(nn::GPTConfig config, Generator& gen, RewardModelOptions options_) : options(options_) {
  config.reward_head = true;
  config.value_head = false;
  model = std::make_shared<nn::GPT>(config, gen);  // drawn on the CPU, then moved: the same weights on any device
  model->to(options.device);
}

RewardModel::RewardModel(std::shared_ptr<nn::GPT> shared_model, RewardModelOptions options_)
    : model(std::move(shared_model)), options(options_) {
  GL_CHECK(model && model->reward_head, "RewardModel: the shared GPT needs a reward head (GPTConfig::reward_head)");
}

void RewardModel::init_trunk_from(const nn::GPT& policy) {
  nn::NamedTensors trunk;
  for (auto& [name, t] : policy.state_dict())
    if (name.rfind("head.", 0) != 0 && name.rfind("value_head.", 0) != 0 && name.rfind("reward_head.", 0) != 0)
      trunk.emplace_back(name, t);
  model->load_state_dict(trunk, /*strict=*/false);
}

Var RewardModel::score(const SequenceBatch& batch) const {
  if (options.pooling == RewardPooling::last_token) return model->rewards(batch.tokens, batch.last_index);
  // Per-token scores s_t = w . h_t + b on every position [B, T], kept on the response tokens only.
  const Var per_token = squeeze(model->reward_head->forward(model->hidden(batch.tokens)), -1);
  const Tensor mask = batch.response_mask.to(per_token.dtype());
  const Var total = sum(per_token * Var(mask), {1});  // r = sum_t mask_t s_t
  if (options.pooling == RewardPooling::token_sum) return total;
  return total / Var(sum(mask, {1}));  // r = sum_t mask_t s_t / sum_t mask_t (every row has >= 1 token)
}

std::vector<double> RewardModel::score(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses,
                                       int64_t chunk) const {
  GL_CHECK(prompts.size() == responses.size() && chunk >= 1, "RewardModel::score: {} prompts, {} responses, chunk {}",
           prompts.size(), responses.size(), chunk);
  NoGradGuard no_grad;
  std::vector<double> out;
  for (size_t s = 0; s < prompts.size(); s += size_t(chunk)) {
    const size_t e = std::min(prompts.size(), s + size_t(chunk));
    const SequenceBatch b = make_batch({prompts.begin() + std::ptrdiff_t(s), prompts.begin() + std::ptrdiff_t(e)},
                                       {responses.begin() + std::ptrdiff_t(s), responses.begin() + std::ptrdiff_t(e)},
                                       model->device());
    for (double v : score(b).value().to(DType::f64).to_vector<double>()) out.push_back(v);
  }
  return out;
}

RewardFn RewardModel::reward_fn() const {
  return [this](const std::vector<Tokens>& x, const std::vector<Tokens>& y) { return score(x, y); };
}

RewardTrainHistory train_reward_model(RewardModel& rm, const std::vector<PreferencePair>& pairs,
                                      const RewardTrainConfig& c, Generator& gen) {
  GL_CHECK(!pairs.empty() && c.epochs >= 0 && c.batch_size >= 1,
           "train_reward_model: {} pairs, epochs {}, batch_size {}", pairs.size(), c.epochs, c.batch_size);
  optim::AdamW opt(rm.model->trainable_parameters(), {.lr = c.lr, .weight_decay = c.weight_decay});
  RewardTrainHistory h;
  std::vector<int64_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  const int world = c.communicator ? c.communicator->world_size() : 1;
  const int rank = c.communicator ? c.communicator->rank() : 0;
  std::unique_ptr<dist::DataParallel> ddp;  // broadcasts rank 0's weights
  if (world > 1) ddp = std::make_unique<dist::DataParallel>(*c.communicator, opt.params());
  // The epoch's sums: on a device they stay there and are read once an epoch.
  enum { kLoss, kRight };
  optim::StepTally tally("reward model", rm.model->device(), 2);
  rm.model->train();
  for (int64_t epoch = 0; epoch < c.epochs; ++epoch) {
    shuffle(order, gen);
    tally.reset_sums();
    for (size_t s = 0; s < order.size(); s += size_t(c.batch_size)) {
      const size_t e = std::min(order.size(), s + size_t(c.batch_size));
      // This rank's pairs of the minibatch [s, e) (all of them in one process).
      std::vector<size_t> mine;
      for (size_t k = s + size_t(rank); k < e; k += size_t(world)) mine.push_back(size_t(order[k]));
      opt.zero_grad();
      if (!mine.empty()) {
        // Chosen and rejected in one forward: rows [0, n) chosen, [n, 2n) rejected.
        std::vector<Tokens> prompts, responses;
        for (const size_t k : mine) prompts.push_back(pairs[k].prompt);
        const std::vector<Tokens> once = prompts;
        prompts.insert(prompts.end(), once.begin(), once.end());
        for (const size_t k : mine) responses.push_back(pairs[k].chosen);
        for (const size_t k : mine) responses.push_back(pairs[k].rejected);
        const int64_t n = int64_t(mine.size());
        const Var r = rm.score(make_batch(prompts, responses, rm.model->device()));
        const Var rc = narrow(r, 0, 0, n), rr = narrow(r, 0, n, n);
        const Var loss = bradley_terry_loss(rc, rr);
        tally.check_finite(loss, epoch);
        // With N ranks, weighted by this rank's share of the minibatch: the mean over the ranks is the minibatch's.
        (world == 1 ? loss : loss * (double(world) * double(n) / double(e - s))).backward();
        tally.add(kLoss, loss.value(), double(n));
        tally.add(kRight, sum(gt(rc.value(), rr.value())));
      }
      if (ddp) ddp->synchronize();
      if (c.max_grad_norm > 0) optim::clip_grad_norm_async(opt.params(), c.max_grad_norm);
      opt.step();
    }
    tally.read();
    double loss_sum = tally.sum(kLoss), right = tally.sum(kRight);
    if (world > 1) {  // the epoch's totals over the ranks
      Tensor totals = tensor({loss_sum, right}, {}, DType::f64);
      c.communicator->all_reduce(totals, dist::ReduceOp::sum);
      loss_sum = totals.to_vector<double>()[0], right = totals.to_vector<double>()[1];
    }
    h.loss.push_back(loss_sum / double(order.size()));
    h.label_accuracy.push_back(right / double(order.size()));
    if (c.on_epoch) c.on_epoch(epoch);
  }
  rm.model->eval();
  return h;
}

double accuracy_vs_gold(const RewardModel& rm, const std::vector<PreferencePair>& pairs) {
  std::vector<Tokens> prompts, a, b;
  std::vector<double> gold_gap;
  for (const auto& p : pairs) {
    if (p.gold_chosen == p.gold_rejected) continue;
    prompts.push_back(p.prompt);
    a.push_back(p.chosen);
    b.push_back(p.rejected);
    gold_gap.push_back(p.gold_chosen - p.gold_rejected);
  }
  GL_CHECK(!prompts.empty(), "accuracy_vs_gold: no pairs with distinct gold rewards among {}", pairs.size());
  const std::vector<double> ra = rm.score(prompts, a), rb = rm.score(prompts, b);
  double right = 0;
  for (size_t i = 0; i < ra.size(); ++i) right += (ra[i] - rb[i]) * gold_gap[i] > 0;
  return right / double(ra.size());
}

}  // namespace gradlab::alignment
