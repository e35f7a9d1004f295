// The diverse reward LoRA ensemble: members start equal to the trunk, K
// members in one pass equal K separate passes through merged copies of the
// trunk, the layer-averaged pass equals the averaged merge, the diversity term
// has its hand-worked values, and its gradient (and the whole loss's) matches
// central differences in f64. Token-pooled heads match a token-pooled reward
// model on the merged copies.
#include <doctest/doctest.h>

#include <cmath>

#include "algorithms/alignment/reward_ensemble.h"
#include "tests/nn/module_check.h"

using namespace gradlab;
using namespace gradlab::alignment;

namespace {

nn::GPTConfig tiny_config(int64_t d_model = 8) {
  return {.vocab = 7,
          .context = 6,
          .d_model = d_model,
          .heads = 2,
          .layers = 2,
          .reward_head = true,
          .embedding_std = 0.5,
          .dtype = DType::f64};
}

// Gives every B (zero at the start) random values, so the members differ.
void randomise_b(RewardEnsemble& ens, Generator& gen) {
  NoGradGuard guard;
  for (const auto& lora : ens.lora_modules()) {
    Tensor b = lora->B.value();
    b.copy_(mul(randn(b.shape(), gen, DType::f64), 0.3));
  }
  Tensor w = ens.head_weight.value();
  w.copy_(add(w, mul(randn(w.shape(), gen, DType::f64), 0.3)));
}

// The linear layers of a GPT in the order RewardEnsemble adapts them (all targets).
std::vector<std::shared_ptr<nn::Linear>> adapted_linears(const nn::GPT& gpt) {
  std::vector<std::shared_ptr<nn::Linear>> out;
  for (const auto& b : gpt.blocks) out.insert(out.end(), {b->attn->qkv, b->attn->proj, b->fc, b->fc_out});
  return out;
}

// A plain GPT whose weights hold base + scale * (weighted sum over k of B_k A_k),
// and whose reward head is the same weighted sum of the member heads.
std::unique_ptr<nn::GPT> merged_copy(const RewardEnsemble& ens, const std::vector<double>& weights) {
  Generator scratch(9);
  auto gpt = std::make_unique<nn::GPT>(ens.trunk().config(), scratch);
  copy_gpt(ens.trunk(), *gpt);
  NoGradGuard guard;
  const auto linears = adapted_linears(*gpt);
  REQUIRE(linears.size() == ens.lora_modules().size());
  for (size_t i = 0; i < linears.size(); ++i) {
    const auto& lora = ens.lora_modules()[i];
    Tensor w = linears[i]->weight.value();
    for (int64_t k = 0; k < ens.members(); ++k) {
      if (weights[k] == 0) continue;
      const Tensor delta = matmul(lora->B.value().select(0, k), lora->A.value().select(0, k));
      w.copy_(add(w, mul(delta, lora->scale() * weights[k])));
    }
  }
  Tensor hw = gpt->reward_head->weight.value(), hb = gpt->reward_head->bias.value();
  hw.fill_(0);
  hb.fill_(0);
  for (int64_t k = 0; k < ens.members(); ++k) {
    hw.copy_(add(hw, mul(ens.head_weight.value().select(0, k).unsqueeze(0), weights[k])));
    hb.copy_(add(hb, mul(ens.head_bias.value().narrow(0, k, 1), weights[k])));
  }
  return gpt;
}

double max_abs_diff(const Tensor& a, const Tensor& b) { return max(abs(sub(a, b))).item<double>(); }

}  // namespace

TEST_CASE("a fresh ensemble: every member equals the trunk, and only adapters and heads train") {
  Generator gen(1);
  nn::GPT trunk(tiny_config(), gen);
  RewardEnsemble ens(trunk, gen, {.members = 3, .rank = 2});
  const Tensor idx = randint(0, 7, {4, 6}, gen, DType::i64);
  const Tensor last = tensor({5, 3, 0, 4}, {4}, DType::i64);
  const Tensor members = ens.member_rewards(idx, last).value();
  REQUIRE(members.shape() == Shape{3, 4});
  const Tensor single = trunk.rewards(idx, last).value();
  for (int64_t k = 0; k < 3; ++k) CHECK(max_abs_diff(members.select(0, k), single) < 1e-12);
  CHECK(ens.lora_modules().size() == 8);  // 2 blocks x (qkv, proj, fc, fc_out)
  for (const auto& [name, p] : ens.named_parameters()) {
    const bool adapter =
        name.find(".A") != std::string::npos || name.find(".B") != std::string::npos || name.rfind("head_", 0) == 0;
    CHECK_MESSAGE(p.requires_grad() == adapter, name);
  }
  // The trunk was copied: changing the original does not change the ensemble.
  {
    NoGradGuard guard;
    Tensor w = trunk.reward_head->weight.value();
    w.fill_(0);
  }
  CHECK(max_abs_diff(ens.member_rewards(idx, last).value().select(0, 0), single) < 1e-12);
}

TEST_CASE("K members in one pass equal K separate passes through merged copies") {
  Generator gen(2);
  nn::GPT trunk(tiny_config(), gen);
  const int64_t K = 4;
  RewardEnsemble ens(trunk, gen, {.members = K, .rank = 2, .lora_alpha = 4});
  randomise_b(ens, gen);
  const Tensor idx = randint(0, 7, {3, 5}, gen, DType::i64);
  const Tensor last = tensor({4, 2, 3}, {3}, DType::i64);
  const Tensor members = ens.member_rewards(idx, last).value();
  double spread = 0;
  for (int64_t k = 0; k < K; ++k) {
    std::vector<double> one_hot(K, 0.0);
    one_hot[k] = 1.0;
    const Tensor separate = merged_copy(ens, one_hot)->rewards(idx, last).value();
    CHECK(max_abs_diff(members.select(0, k), separate) < 1e-10);
    spread = std::max(spread, max_abs_diff(members.select(0, k), members.select(0, 0)));
  }
  CHECK(spread > 1e-3);  // the members really differ
  // The ensemble mean is the mean of the members.
  CHECK(max_abs_diff(ens.mean_reward(idx, last).value(), mean(members, {0})) < 1e-12);

  // Eq. 11's layer average equals one GPT with the averaged B_k A_k and heads merged in.
  RewardEnsemble averaged(trunk, gen, {.members = K, .rank = 2, .lora_alpha = 4, .mean = EnsembleMean::layer_average});
  averaged.load_state_dict(ens.state_dict());
  const Tensor layer_avg = averaged.mean_reward(idx, last).value();
  const Tensor merged_avg = merged_copy(ens, std::vector<double>(K, 1.0 / K))->rewards(idx, last).value();
  CHECK(max_abs_diff(layer_avg, merged_avg) < 1e-10);
  // Nonlinear layers make it differ from the mean of the members.
  CHECK(max_abs_diff(layer_avg, mean(members, {0})) > 1e-6);
}

TEST_CASE("token-pooled members sum (or average) their per-token scores over the response") {
  Generator gen(12);
  nn::GPT trunk(tiny_config(), gen);
  const int64_t K = 3;
  SequenceBatch batch;
  batch.tokens = randint(0, 7, {3, 6}, gen, DType::i64);
  batch.response_mask = tensor({0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1}, {3, 6}, DType::f32);  // P = 2
  batch.last_index = tensor({4, 2, 5}, {3}, DType::i64);
  // A reward model of the same pooling on one merged copy of the ensemble.
  auto merged_score = [&](const RewardEnsemble& ens, const std::vector<double>& weights, RewardPooling pooling) {
    Generator scratch(3);
    RewardModel rm(trunk.config(), scratch, {.pooling = pooling});
    rm.model->load_state_dict(merged_copy(ens, weights)->state_dict());
    return rm.score(batch).value();
  };
  for (RewardPooling pooling : {RewardPooling::token_sum, RewardPooling::token_mean}) {
    CAPTURE(reward_pooling_name(pooling));
    RewardEnsemble ens(trunk, gen, {.members = K, .rank = 2, .lora_alpha = 4, .pooling = pooling});
    randomise_b(ens, gen);
    const Tensor members = ens.member_rewards(batch).value();
    REQUIRE(members.shape() == Shape{K, 3});
    for (int64_t k = 0; k < K; ++k) {
      std::vector<double> one_hot(K, 0.0);
      one_hot[k] = 1.0;
      CHECK(max_abs_diff(members.select(0, k), merged_score(ens, one_hot, pooling)) < 1e-10);
    }
    CHECK(max_abs_diff(ens.mean_reward(batch).value(), mean(members, {0})) < 1e-12);
    RewardEnsemble averaged(
        trunk, gen,
        {.members = K, .rank = 2, .lora_alpha = 4, .mean = EnsembleMean::layer_average, .pooling = pooling});
    averaged.load_state_dict(ens.state_dict());
    CHECK(max_abs_diff(averaged.mean_reward(batch).value(),
                       merged_score(ens, std::vector<double>(K, 1.0 / K), pooling)) < 1e-10);
    // Bradley-Terry on batches: -mean log sigma(r_bar(chosen) - r_bar(rejected)).
    SequenceBatch other = batch;
    other.tokens = randint(0, 7, {3, 6}, gen, DType::i64);
    const Tensor margin = sub(ens.mean_reward(batch).value(), ens.mean_reward(other).value());
    const double expected = -mean(log_sigmoid(Var(margin))).item();
    CHECK(ens.bradley_terry_loss(batch, other).item() == doctest::Approx(expected).epsilon(1e-12));
    // Bare token ids carry no response mask: a clear error, not a last-token reading.
    CHECK_THROWS_WITH_AS(ens.member_rewards(batch.tokens, batch.last_index),
                         doctest::Contains("pooling needs a response mask"), Error);
  }
}

TEST_CASE("the diversity term on hand-worked matrices") {
  Generator gen(3);
  nn::GPTConfig c = tiny_config(2);
  c.heads = 1;
  c.layers = 1;
  nn::GPT trunk(c, gen);
  // Two members of rank 1 on qkv and proj (in = 2): A^(m) = [[3, 0], [0, 4]]
  // has singular values 4 and 3, so ||A||_* = 7 and ||A||_F = 5.
  RewardEnsemble ens(trunk, gen, {.members = 2, .rank = 1, .targets = LoRATargets::attention});
  REQUIRE(ens.lora_modules().size() == 2);
  {
    NoGradGuard guard;
    for (const auto& lora : ens.lora_modules()) {
      Tensor a = lora->A.value();
      a.copy_(tensor({3, 0, 0, 4}, {2, 1, 2}, DType::f64));
    }
  }
  CHECK(ens.diversity_term(DiversityNorm::plain).item() == doctest::Approx(-7.0).epsilon(1e-12));
  CHECK(ens.diversity_term(DiversityNorm::scale_invariant).item() == doctest::Approx(-7.0 / 5).epsilon(1e-12));
  CHECK(ens.diversity_term(DiversityNorm::upstream).item() ==
        doctest::Approx(-7.0 / 5 * std::sqrt(2.0)).epsilon(1e-12));
  // Identical members span one direction: [[3, 4], [3, 4]] has ||.||_* = ||.||_F = 5 sqrt(2).
  {
    NoGradGuard guard;
    Tensor a = ens.lora_modules()[1]->A.value();
    a.copy_(tensor({3, 4, 3, 4}, {2, 1, 2}, DType::f64));
  }
  // The mean over the two modules: (7/5 + 1) / 2.
  CHECK(ens.diversity_term(DiversityNorm::scale_invariant).item() ==
        doctest::Approx(-(7.0 / 5 + 1) / 2).epsilon(1e-12));
  // The statistic logged over training, per module: 7/5, and 1 for the parallel rows.
  const std::vector<double> ratios = ens.diversity_ratios();
  REQUIRE(ratios.size() == 2);
  CHECK(ratios[0] == doctest::Approx(7.0 / 5).epsilon(1e-12));
  CHECK(ratios[1] == doctest::Approx(1.0).epsilon(1e-12));
}

TEST_CASE("the diversity term's gradient matches central differences (f64)") {
  for (DiversityNorm kind : {DiversityNorm::plain, DiversityNorm::scale_invariant, DiversityNorm::upstream}) {
    CAPTURE(int(kind));
    Generator gen(4);
    nn::GPT trunk(tiny_config(), gen);
    RewardEnsemble ens(trunk, gen, {.members = 3, .rank = 2, .diversity = kind});
    if (kind != DiversityNorm::upstream) {
      nn_test::check_module_gradients(
          ens, [&] { return ens.diversity_term(); }, 8, 1e-6, 1e-6);
    } else {
      // The stop-gradient makes the gradient that of ||A||_* times the constant sqrt(max dim) / ||A||_F.
      for (const auto& p : ens.parameters()) p.zero_grad();
      ens.diversity_term().backward();
      const auto& lora = ens.lora_modules()[0];
      const Tensor a = lora->A.value().reshape({6, lora->A.size(2)});
      const double fro = norm(a).item<double>();
      const Svd s = svd(a);
      const Tensor expected = mul(matmul(s.U, s.Vh), -std::sqrt(double(std::max<int64_t>(6, a.size(1)))) / fro / 8.0);
      CHECK(max_abs_diff(lora->A.grad().reshape(a.shape()), expected) < 1e-10);
    }
  }
}

TEST_CASE("Bradley-Terry on the ensemble mean plus alpha times diversity: gradients in f64") {
  Generator gen(5);
  nn::GPT trunk(tiny_config(), gen);
  for (EnsembleMean m : {EnsembleMean::members, EnsembleMean::layer_average}) {
    RewardEnsemble ens(trunk, gen, {.members = 3, .rank = 2, .mean = m, .diversity = DiversityNorm::scale_invariant});
    randomise_b(ens, gen);
    const Tensor chosen = randint(0, 7, {3, 6}, gen, DType::i64), rejected = randint(0, 7, {3, 6}, gen, DType::i64);
    const Tensor cl = tensor({5, 4, 3}, {3}, DType::i64), rl = tensor({2, 5, 5}, {3}, DType::i64);
    auto loss = [&] { return ens.bradley_terry_loss(chosen, rejected, cl, rl) + ens.diversity_term() * 0.1; };
    nn_test::check_module_gradients(ens, loss, 5, 1e-6, 1e-6);
    // The loss is -mean log sigma(r_bar(y_w) - r_bar(y_l)).
    const Tensor margin = sub(ens.mean_reward(chosen, cl).value(), ens.mean_reward(rejected, rl).value());
    const double expected = -mean(log(sigmoid(margin))).item<double>();
    CHECK(ens.bradley_terry_loss(chosen, rejected, cl, rl).item() == doctest::Approx(expected).epsilon(1e-12));
  }
}

TEST_CASE("bad input throws with the op's name") {
  Generator gen(6);
  nn::GPTConfig c = tiny_config();
  c.reward_head = false;
  nn::GPT no_head(c, gen);
  CHECK_THROWS_WITH_AS(RewardEnsemble(no_head, gen), doctest::Contains("no reward head"), Error);
  nn::GPT trunk(tiny_config(), gen);
  RewardEnsemble ens(trunk, gen, {.members = 2, .rank = 1});
  CHECK_THROWS_WITH_AS(ens.member_rewards(full({2, 3}, 9, DType::i64)), doctest::Contains("outside the vocabulary"),
                       Error);
  CHECK_THROWS_WITH_AS(ens.member_rewards(zeros({2, 3}, DType::i64), tensor({1, 3}, {2}, DType::i64)),
                       doctest::Contains("last_index"), Error);
  CHECK_THROWS_WITH_AS(diversity_norm_from_string("frobenius"),
                       doctest::Contains("diversity norm: unknown 'frobenius'"), Error);
}
