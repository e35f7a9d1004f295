// The diverse reward LoRA ensemble: a frozen GPT trunk, K adapters per chosen
// linear layer, K reward heads, the diversity term and the Bradley-Terry loss
// on the ensemble mean (docs/papers/up-rlhf.md; the paper's Eqs. 11-13).
#include "algorithms/alignment/reward_ensemble.h"

#include <algorithm>
#include <cmath>

namespace gradlab::alignment {

LoRATargets lora_targets_from_string(const std::string& name) {
  if (name == "all") return LoRATargets::all;
  if (name == "attention") return LoRATargets::attention;
  if (name == "mlp") return LoRATargets::mlp;
  fail("lora targets: unknown '{}' (all, attention, mlp)", name);
}

DiversityNorm diversity_norm_from_string(const std::string& name) {
  if (name == "plain") return DiversityNorm::plain;
  if (name == "scale_invariant") return DiversityNorm::scale_invariant;
  if (name == "upstream") return DiversityNorm::upstream;
  fail("diversity norm: unknown '{}' (plain, scale_invariant, upstream)", name);
}

EnsembleMean ensemble_mean_from_string(const std::string& name) {
  if (name == "members") return EnsembleMean::members;
  if (name == "layer_average") return EnsembleMean::layer_average;
  fail("ensemble mean: unknown '{}' (members, layer_average)", name);
}

void copy_gpt(const nn::GPT& from, nn::GPT& to) { to.load_state_dict(from.state_dict()); }

RewardEnsemble::RewardEnsemble(const nn::GPT& trunk, Generator& gen, const RewardEnsembleOptions& o) : options_(o) {
  GL_CHECK(trunk.reward_head != nullptr, "RewardEnsemble: the trunk has no reward head (GPTConfig::reward_head)");
  GL_CHECK(o.members >= 1 && o.rank >= 1, "RewardEnsemble: members and rank must be positive, got {} and {}", o.members,
           o.rank);
  GL_CHECK(trunk.config().dropout == 0.0, "RewardEnsemble: the trunk must have no dropout, got {}",
           trunk.config().dropout);
  Generator scratch(0);  // the trunk's initial weights are overwritten by the copy
  trunk_ = register_module("trunk", std::make_shared<nn::GPT>(trunk.config(), scratch));
  copy_gpt(trunk, *trunk_);
  trunk_->freeze();
  trunk_->eval();

  auto list = register_module("lora", std::make_shared<nn::ModuleList>());
  const nn::LoRAOptions lo{
      .rank = o.rank, .alpha = o.lora_alpha, .dropout = 0.0, .adapters = o.members, .init = o.lora_init};
  for (const auto& block : trunk_->blocks) {
    std::vector<std::shared_ptr<nn::Linear>> targets;
    if (o.targets != LoRATargets::mlp) targets.insert(targets.end(), {block->attn->qkv, block->attn->proj});
    if (o.targets != LoRATargets::attention) targets.insert(targets.end(), {block->fc, block->fc_out});
    for (const auto& linear : targets) {
      loras_.push_back(list->push_back(std::make_shared<nn::LoRALinear>(linear, gen, lo)));
      lora_bases_.push_back(linear.get());
    }
  }
  // Member heads start as copies of the trunk's head: every member begins
  // equal to the pretrained single reward model.
  const Tensor w = trunk_->reward_head->weight.value();  // [1, C]
  const Tensor b = trunk_->reward_head->bias.value();    // [1]
  head_weight = register_parameter("head_weight", w.expand({o.members, w.size(1)}).contiguous(), o.train_heads);
  head_bias = register_parameter("head_bias", b.expand({o.members}).contiguous(), o.train_heads);
}

const nn::LoRALinear* RewardEnsemble::lora_for(const nn::Linear* linear) const {
  for (size_t i = 0; i < lora_bases_.size(); ++i)
    if (lora_bases_[i] == linear) return loras_[i].get();
  return nullptr;
}

// x [N, T, in] with N = K B (members, member-major) or B (layer average).
Var RewardEnsemble::apply(const nn::LoRALinear& lora, const Var& x, bool layer_average) const {
  const int64_t K = options_.members, N = x.size(0), T = x.size(1), in = x.size(2);
  if (layer_average) {
    // Eq. 11: W z + (1/K) sum_k B_k A_k z, the K low-rank paths as one batched matmul.
    const Var x3 = reshape(x, {1, N * T, in});
    const Var low = matmul(matmul(x3, transpose(lora.A, 1, 2)), transpose(lora.B, 1, 2));  // [K, N T, out]
    const Var y = lora.base->forward(reshape(x, {N * T, in})) + mean(low, {0}) * lora.scale();
    return reshape(y, {N, T, -1});
  }
  const Var y = lora.forward(reshape(x, {K, (N / K) * T, in}), /*members_first=*/true);  // [K, B T, out]
  return reshape(y, {N, T, -1});
}

Var RewardEnsemble::hidden_states(const Tensor& idx, bool layer_average) const {
  Var x = trunk_->embed_tokens(idx, "RewardEnsemble");  // [B, T, C]
  GL_CHECK(idx.size(1) >= 1, "RewardEnsemble: the token ids [B, T] need T >= 1, got {}", idx.shape());
  const int64_t K = options_.members, B = idx.size(0), T = idx.size(1), C = trunk_->config().d_model;
  // Members: every member carries its own hidden states from the start, as
  // [K B, T, C] (member-major), so attention and LayerNorm see one batch.
  if (!layer_average) x = reshape(expand(unsqueeze(x, 0), {K, B, T, C}), {K * B, T, C});
  // The trunk's own blocks, with the adapted linear layers in place of the plain ones.
  const Var out = trunk_->hidden_from_embeddings(x, [&](const std::shared_ptr<nn::Linear>& base, const Var& in) {
    const nn::LoRALinear* lora = lora_for(base.get());
    return lora ? apply(*lora, in, layer_average) : base->forward(in);
  });
  return layer_average ? out : reshape(out, {K, B, T, C});
}

Tensor RewardEnsemble::last_positions(const Tensor& idx, const Tensor& last_index) const {
  const int64_t B = idx.size(0), T = idx.size(1);
  if (!last_index.defined()) return full({B}, double(T - 1), DType::i64, idx.device());
  const Tensor last = last_index.to(DType::i64).to(idx.device());
  GL_CHECK(last.shape() == Shape{B}, "RewardEnsemble: last_index of shape {} should be [{}]", last.shape(), B);
  if (B > 0 && last.device() != Device::cpu) {  // counted on the device, not read back (tensor/backend.h)
    const Tensor bad = add(sum(lt(last, 0.0).to(DType::i64)), sum(ge(last, double(T)).to(DType::i64)));
    check_none_bad(bad, fmt::format("RewardEnsemble: last_index outside [0, {})", T));
  } else if (B > 0) {
    const int64_t lo = min(last).item<int64_t>(), hi = max(last).item<int64_t>();
    GL_CHECK(lo >= 0 && hi < T, "RewardEnsemble: last_index {} is outside [0, {})", lo < 0 ? lo : hi, T);
  }
  return last;
}

Var RewardEnsemble::pool_tokens(const Var& per_token, const Tensor& mask_in) const {
  const int64_t B = per_token.size(-2), T = per_token.size(-1);
  GL_CHECK(mask_in.defined() && mask_in.shape() == Shape({B, T}),
           "RewardEnsemble: {} pooling needs a response mask [{}, {}], got {}", reward_pooling_name(options_.pooling),
           B, T, mask_in.defined() ? fmt::format("{}", mask_in.shape()) : "none (pass a SequenceBatch)");
  const Tensor mask = mask_in.to(per_token.dtype());
  const Var total = sum(per_token * Var(mask), {-1});  // r = sum_t mask_t s_t
  if (options_.pooling == RewardPooling::token_sum) return total;
  const Tensor count = sum(mask, {1});
  GL_CHECK(B == 0 || min(count).item<double>() > 0, "RewardEnsemble: token_mean pooling: a row has no response token");
  return total / Var(count);
}

Var RewardEnsemble::member_rewards(const Tensor& idx, const Tensor& last_index, const Tensor& mask) const {
  const Var h = hidden_states(idx, /*layer_average=*/false);  // [K, B, T, C]
  const int64_t K = options_.members, B = idx.size(0), C = h.size(3);
  if (options_.pooling != RewardPooling::last_token) {
    // Member k's per-token scores s_kt = w_k . h_kt + b_k [K, B, T], pooled over the response.
    const Var per_token = sum(h * reshape(head_weight, {K, 1, 1, C}), {3}) + reshape(head_bias, {K, 1, 1});
    return pool_tokens(per_token, mask);
  }
  const Tensor last = last_positions(idx, last_index);
  const Tensor index = last.view({1, B, 1, 1}).expand({K, B, 1, C}).contiguous();
  const Var at_last = squeeze(gather(h, 2, index), 2);  // [K, B, C]
  // r_k = w_k . h_k + b_k, member k's own head
  return sum(at_last * unsqueeze(head_weight, 1), {2}) + unsqueeze(head_bias, 1);  // [K, B]
}

Var RewardEnsemble::member_rewards(const Tensor& idx, const Tensor& last_index) const {
  return member_rewards(idx, last_index, Tensor());
}

Var RewardEnsemble::member_rewards(const SequenceBatch& batch) const {
  return member_rewards(batch.tokens, batch.last_index, batch.response_mask);
}

Var RewardEnsemble::mean_reward(const Tensor& idx, const Tensor& last_index, const Tensor& mask) const {
  if (options_.mean == EnsembleMean::members)
    return mean(member_rewards(idx, last_index, mask), {0});  // Eq. 13's r_bar
  const Var h = hidden_states(idx, /*layer_average=*/true);   // [B, T, C]
  const int64_t B = idx.size(0), C = h.size(2);
  // The heads are linear, so their average is the average head.
  const Var w = mean(head_weight, {0}), b = mean(head_bias);
  if (options_.pooling != RewardPooling::last_token) return pool_tokens(sum(h * reshape(w, {1, 1, C}), {2}) + b, mask);
  const Tensor index = last_positions(idx, last_index).view({B, 1, 1}).expand({B, 1, C}).contiguous();
  const Var at_last = squeeze(gather(h, 1, index), 1);  // [B, C]
  return sum(at_last * unsqueeze(w, 0), {1}) + b;
}

Var RewardEnsemble::mean_reward(const Tensor& idx, const Tensor& last_index) const {
  return mean_reward(idx, last_index, Tensor());
}

Var RewardEnsemble::mean_reward(const SequenceBatch& batch) const {
  return mean_reward(batch.tokens, batch.last_index, batch.response_mask);
}

Var RewardEnsemble::diversity_term() const { return diversity_term(options_.diversity); }

Var RewardEnsemble::diversity_term(DiversityNorm norm_kind) const {
  GL_CHECK(!loras_.empty(), "RewardEnsemble::diversity_term: the ensemble has no LoRA modules");
  Var total;
  for (const auto& lora : loras_) {
    const Var& A = lora->A;  // [K, r, in]
    const int64_t rows = A.size(0) * A.size(1), cols = A.size(2);
    const Var stacked = reshape(A, {rows, cols});  // A^(m) = [A_1; ..; A_K], [K r, in]
    Var value = nuclear_norm(stacked);
    if (norm_kind == DiversityNorm::scale_invariant) {
      value = value / norm(stacked);  // Eq. 12: ||A||_* / ||A||_F
    } else if (norm_kind == DiversityNorm::upstream) {
      // The authors' variant: the Frobenius norm as a constant (stop-gradient).
      const Tensor frobenius = norm(stacked.value());
      value = value / Var(frobenius) * std::sqrt(double(std::max(rows, cols)));
    }
    total = total.defined() ? total + value : value;
  }
  return -(total / double(loras_.size()));  // -(1/M) sum_m
}

std::vector<double> RewardEnsemble::diversity_ratios() const {
  NoGradGuard no_grad;
  std::vector<double> out;
  for (const auto& lora : loras_) {
    const Var& A = lora->A;
    const Var stacked = reshape(A, {A.size(0) * A.size(1), A.size(2)});
    out.push_back(nuclear_norm(stacked).item() / norm(stacked.value()).item());
  }
  return out;
}

Var RewardEnsemble::bradley_terry_loss(const SequenceBatch& chosen, const SequenceBatch& rejected) const {
  return bradley_terry_loss(chosen.tokens, rejected.tokens, chosen.last_index, rejected.last_index,
                            chosen.response_mask, rejected.response_mask);
}

Var RewardEnsemble::bradley_terry_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& chosen_last,
                                       const Tensor& rejected_last) const {
  return bradley_terry_loss(chosen, rejected, chosen_last, rejected_last, Tensor(), Tensor());
}

Var RewardEnsemble::bradley_terry_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& chosen_last,
                                       const Tensor& rejected_last, const Tensor& chosen_mask,
                                       const Tensor& rejected_mask) const {
  GL_CHECK(chosen.dim() == 2 && rejected.dim() == 2 && chosen.size(0) == rejected.size(0),
           "RewardEnsemble::bradley_terry_loss: chosen {} and rejected {} should be [B, T] with the same B",
           chosen.shape(), rejected.shape());
  const int64_t B = chosen.size(0);
  Var margin;
  if (chosen.shape() == rejected.shape() && chosen.dtype() == rejected.dtype()) {
    // One pass over both halves.
    const Tensor idx = concat({chosen, rejected}, 0);
    const Tensor last = concat({last_positions(chosen, chosen_last), last_positions(rejected, rejected_last)}, 0);
    const Tensor mask =
        chosen_mask.defined() && rejected_mask.defined() ? concat({chosen_mask, rejected_mask}, 0) : Tensor();
    const Var r = mean_reward(idx, last, mask);
    margin = slice(r, 0, 0, B) - slice(r, 0, B, 2 * B);
  } else {
    margin = mean_reward(chosen, chosen_last, chosen_mask) - mean_reward(rejected, rejected_last, rejected_mask);
  }
  return -mean(log_sigmoid(margin));  // Eq. 12: -log sigma(r_bar(y_w) - r_bar(y_l))
}

}  // namespace gradlab::alignment
