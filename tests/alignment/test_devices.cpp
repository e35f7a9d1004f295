// The alignment algorithms on every non-CPU device present (ref always, cuda
// with a GPU): one iteration of SFT, the reward model, DPO, PPO-RLHF, OSP,
// COPR, COPF and LANCET's correction from the same weights and seed gives the
// CPU's losses and weights (and LANCET's influence recall the CPU's scores);
// the host synchronisations of one GPT, reward-model and DPO training
// step, and of whole SFT, reward-model, DPO, PPO-RLHF, OSP, COPR, LANCET
// correction and distillation-replay loops (none per minibatch), counted on
// ref; bad token ids and targets on a device still raise a clear error.
//
// Tolerance: the models are f64 on both sides, so the backends differ only in
// the order of their sums (ref sums in double in its own order, the cpu in
// blocked order, cuda in trees and atomics), about 1e-16 relative per op.
// Random draws are the same numbers on every device (Philox by counter; host
// draws on the host), so the samples are the same tokens. One iteration is a
// few hundred ops and a few Adam steps, whose update lr m / (sqrt(v) + eps) is
// smooth in the gradient; we allow 1e-9 (absolute on weights of order 0.1-1,
// relative on losses), far above that rounding and far below what a real
// difference (a wrong row, a stale tensor, a missed mask) makes.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "algorithms/alignment/continual_baselines.h"
#include "algorithms/alignment/copf.h"
#include "algorithms/alignment/copr.h"
#include "algorithms/alignment/dpo.h"
#include "algorithms/alignment/lancet.h"
#include "algorithms/alignment/osp.h"
#include "algorithms/alignment/ppo_rlhf.h"
#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/influence/kfac.h"
#include "envs/preference/gold_reward.h"
#include "optim/adam.h"
#include "tensor/backend.h"
#include "tensor/error.h"
#include "tests/devices_to_test.h"
#include "tests/error_of.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
using namespace gradlab::alignment;
namespace pref = gradlab::envs::preference;
using gradlab::test::error_of;

namespace {

using gradlab::testing::devices_to_test;

constexpr double kTol = 1e-9;

nn::GPTConfig f64_gpt(bool reward_head = false, bool value_head = false) {
  return {.vocab = pref::vocab_size(),
          .context = 12,
          .d_model = 16,
          .heads = 2,
          .layers = 1,
          .value_head = value_head,
          .reward_head = reward_head,
          .dtype = DType::f64};
}

// A GPT drawn on the CPU from `seed` (the same weights for every device), then moved.
std::shared_ptr<nn::GPT> gpt_on(Device device, uint64_t seed, const nn::GPTConfig& config) {
  Generator gen(seed);
  auto model = std::make_shared<nn::GPT>(config, gen);
  model->to(device);
  return model;
}

// The largest |a - b| over two models' parameters, read on the CPU.
double max_weight_gap(const nn::Module& a, const nn::Module& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  REQUIRE(pa.size() == pb.size());
  double gap = 0;
  for (size_t i = 0; i < pa.size(); ++i)
    gap = std::max(gap, max(abs(sub(pa[i].value().to(Device::cpu), pb[i].value().to(Device::cpu)))).item());
  return gap;
}

// That a model lives on `device` (none of its weights left behind on the CPU).
void check_on(const nn::Module& m, Device device) {
  for (const Var& p : m.parameters()) CHECK(p.value().device() == device);
}

void check_close(double cpu, double dev, const char* what) {
  CHECK_MESSAGE(std::abs(cpu - dev) <= kTol * std::max(1.0, std::abs(cpu)), what, ": cpu ", cpu, ", device ", dev);
}

void check_close(const std::vector<double>& cpu, const std::vector<double>& dev, const char* what) {
  REQUIRE(cpu.size() == dev.size());
  for (size_t i = 0; i < cpu.size(); ++i) check_close(cpu[i], dev[i], what);
}

std::vector<pref::Sequence> corpus(int64_t n, uint64_t seed) {
  Generator gen(seed);
  return pref::make_corpus(n, {}, {}, {}, gen);
}

// Pairs of two sampled responses to one prompt, labelled by the target-count gold reward.
std::vector<PreferencePair> pairs(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<PreferencePair> out;
  for (int64_t i = 0; i < n; ++i) {
    PreferencePair p;
    p.prompt = pref::sample_prompt({}, gen);
    p.chosen = pref::sample_response(p.prompt, {}, {}, gen);
    p.rejected = pref::sample_response(p.prompt, {}, {}, gen);
    out.push_back(p);
  }
  return out;
}

std::vector<Ranking> rankings(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<Ranking> out;
  for (int64_t i = 0; i < n; ++i) {
    Ranking r;
    r.prompt = pref::sample_prompt(pref::Family::tell, gen);
    for (int j = 0; j < 4; ++j) r.responses.push_back(pref::sample_response(r.prompt, {}, {}, gen));
    r.gold = {3, 2, 1, 0};
    out.push_back(r);
  }
  return out;
}

std::vector<Tokens> prompts(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<Tokens> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(pref::sample_prompt({}, gen));
  return out;
}

std::vector<double> gold(const std::vector<Tokens>& x, const std::vector<Tokens>& y) {
  return pref::gold_rewards(pref::RewardKind::target_count, x, y);
}

}  // namespace

TEST_CASE("SFT, the reward model and DPO: one epoch on a device equals the CPU's") {
  test::ThreadCountGuard threads(1);
  const auto data = corpus(24, 1);
  const auto prefs = pairs(8, 2);
  for (Device device : devices_to_test()) {
    CAPTURE(device);
    // SFT: two steps with gradient clipping.
    const SFTConfig sft{.steps = 2, .batch_size = 4, .lr = 1e-2, .max_grad_norm = 0.5};
    auto cpu = gpt_on(Device::cpu, 3, f64_gpt()), dev = gpt_on(device, 3, f64_gpt());
    Generator g1(4), g2(4);
    const auto l_cpu = train_sft(*cpu, data, sft, g1), l_dev = train_sft(*dev, data, sft, g2);
    check_close(l_cpu, l_dev, "SFT loss");
    check_on(*dev, device);
    CHECK(max_weight_gap(*cpu, *dev) <= kTol);

    // The reward model, with each pooling.
    for (RewardPooling pooling : {RewardPooling::last_token, RewardPooling::token_sum}) {
      Generator i1(5), i2(5);
      RewardModel rm_cpu(f64_gpt(), i1, {.pooling = pooling});
      RewardModel rm_dev(f64_gpt(), i2, {.pooling = pooling, .device = device});
      check_on(*rm_dev.model, device);
      const RewardTrainConfig rc{.epochs = 1, .batch_size = 4, .lr = 1e-2};
      Generator t1(6), t2(6);
      const auto h_cpu = train_reward_model(rm_cpu, prefs, rc, t1), h_dev = train_reward_model(rm_dev, prefs, rc, t2);
      check_close(h_cpu.loss, h_dev.loss, "reward-model loss");
      check_close(h_cpu.label_accuracy, h_dev.label_accuracy, "reward-model label accuracy");
      CHECK(max_weight_gap(*rm_cpu.model, *rm_dev.model) <= kTol);
      std::vector<Tokens> x, y;
      for (const auto& p : prefs) x.push_back(p.prompt), y.push_back(p.chosen);
      check_close(rm_cpu.score(x, y), rm_dev.score(x, y), "reward-model score");
    }

    // DPO from a policy against its frozen copy.
    auto pol_cpu = gpt_on(Device::cpu, 7, f64_gpt()), pol_dev = gpt_on(device, 7, f64_gpt());
    const auto ref_cpu = clone_gpt(*pol_cpu), ref_dev = clone_gpt(*pol_dev);
    check_on(*ref_dev, device);
    const DPOConfig dc{.beta = 0.5, .epochs = 1, .batch_size = 4, .lr = 1e-2};
    Generator d1(8), d2(8);
    const DPOHistory dh_cpu = train_dpo(*pol_cpu, *ref_cpu, prefs, dc, d1);
    const DPOHistory dh_dev = train_dpo(*pol_dev, *ref_dev, prefs, dc, d2);
    check_close(dh_cpu.loss, dh_dev.loss, "DPO loss");
    check_close(dh_cpu.margin, dh_dev.margin, "DPO margin");
    CHECK(max_weight_gap(*pol_cpu, *pol_dev) <= kTol);
  }
}

TEST_CASE("PPO-RLHF and OSP: one iteration on a device equals the CPU's (the same sampled tokens)") {
  test::ThreadCountGuard threads(1);
  const auto x = prompts(4, 9);
  for (Device device : devices_to_test()) {
    CAPTURE(device);
    const PPORLHFConfig pc{.rollout_prompts = 4, .response_len = 6, .epochs = 1, .minibatch = 2, .lr = 1e-3};
    auto run_ppo = [&](Device d) {
      auto policy = gpt_on(d, 10, f64_gpt());
      auto critic = gpt_on(d, 11, f64_gpt(false, true));
      PPORLHF ppo(policy, clone_gpt(*policy), critic, gold, pc, 12);
      const PPOIterationStats st = ppo.step(x);
      return std::make_tuple(st, policy, critic);
    };
    const auto [s_cpu, p_cpu, c_cpu] = run_ppo(Device::cpu);
    const auto [s_dev, p_dev, c_dev] = run_ppo(device);
    check_on(*p_dev, device);
    check_close(s_cpu.reward, s_dev.reward, "PPO reward");  // the same samples
    check_close(s_cpu.kl, s_dev.kl, "PPO KL");
    check_close(s_cpu.policy_loss, s_dev.policy_loss, "PPO policy loss");
    check_close(s_cpu.value_loss, s_dev.value_loss, "PPO value loss");
    check_close(s_cpu.entropy, s_dev.entropy, "PPO entropy");
    check_close(s_cpu.clip_fraction, s_dev.clip_fraction, "PPO clip fraction");
    CHECK(max_weight_gap(*p_cpu, *p_dev) <= kTol);
    CHECK(max_weight_gap(*c_cpu, *c_dev) <= kTol);

    auto run_osp = [&](Device d) {
      auto policy = gpt_on(d, 13, f64_gpt(true));
      OSP osp(policy, clone_gpt(*policy), nullptr, {.samples_per_prompt = 4, .lr = 1e-3},
              {.pooling = RewardPooling::token_sum}, 14);
      const OSPIterationStats st = osp.step(x);
      return std::make_pair(st, policy);
    };
    const auto [o_cpu, op_cpu] = run_osp(Device::cpu);
    const auto [o_dev, op_dev] = run_osp(device);
    CHECK(o_cpu.pairs == o_dev.pairs);
    check_close(o_cpu.mean_strength, o_dev.mean_strength, "OSP strength");
    check_close(o_cpu.loss, o_dev.loss, "OSP loss");
    check_close(o_cpu.margin, o_dev.margin, "OSP margin");
    CHECK(max_weight_gap(*op_cpu, *op_dev) <= kTol);
  }
}

TEST_CASE("COPR and COPF: two tasks (the second with a memory) on a device equal the CPU's") {
  test::ThreadCountGuard threads(1);
  const auto task1 = rankings(8, 15), task2 = rankings(8, 16);
  for (Device device : devices_to_test()) {
    CAPTURE(device);
    auto run_copr = [&](Device d) {
      auto policy = gpt_on(d, 17, f64_gpt());
      COPR copr(policy, {.beta = 0.5, .replay_fraction = 0.25, .epochs = 2, .batch_size = 4, .lr = 3e-3}, 18);
      copr.learn_task(task1);
      const COPRStageStats st = copr.learn_task(task2);
      return std::make_pair(st, policy);
    };
    const auto [r_cpu, rp_cpu] = run_copr(Device::cpu);
    const auto [r_dev, rp_dev] = run_copr(device);
    check_close(r_cpu.fit, r_dev.fit, "COPR fit");
    check_close(r_cpu.sft, r_dev.sft, "COPR sft");
    check_close(r_cpu.thresholds, r_dev.thresholds, "COPR thresholds");
    check_close(r_cpu.lambda, r_dev.lambda, "COPR lambda");
    // Per step (4: two epochs of two), the memory's violation and multiplier (on a device read per epoch).
    const auto flat = [](const std::vector<std::vector<double>>& rows) {
      std::vector<double> out;
      for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
      return out;
    };
    REQUIRE(r_dev.step_lambda.size() == 4);
    REQUIRE(r_dev.step_violations.size() == 4);
    check_close(flat(r_cpu.step_violations), flat(r_dev.step_violations), "COPR step violations");
    check_close(flat(r_cpu.step_lambda), flat(r_dev.step_lambda), "COPR step lambda");
    CHECK(max_weight_gap(*rp_cpu, *rp_dev) <= kTol);

    auto run_copf = [&](Device d) {
      auto policy = gpt_on(d, 19, f64_gpt());
      COPF copf(policy, {.replay_fraction = 0.25, .epochs = 1, .batch_size = 4}, 20);
      copf.learn_task(task1);
      const COPFStageStats st = copf.learn_task(task2);
      return std::make_pair(st, policy);
    };
    const auto [f_cpu, fp_cpu] = run_copf(Device::cpu);
    const auto [f_dev, fp_dev] = run_copf(device);
    check_close(f_cpu.fit, f_dev.fit, "COPF fit");
    check_close(f_cpu.nll, f_dev.nll, "COPF nll");
    check_close(f_cpu.reg, f_dev.reg, "COPF reg");
    CHECK(max_weight_gap(*fp_cpu, *fp_dev) <= kTol);
  }
}

TEST_CASE("LANCET's correction and perplexity on a device equal the CPU's") {
  test::ThreadCountGuard threads(1);
  const auto retained = corpus(16, 21), recalled = corpus(4, 22);
  const std::vector<double> weights = {0.4, 0.3, 0.2, 0.1};
  for (Device device : devices_to_test()) {
    CAPTURE(device);
    // Unlearning and the KL term over two steps. (Not the L2 term over several steps: the attention's key
    // bias has a gradient that is zero in exact arithmetic (softmax ignores a shift), so each backend gets
    // its own rounding noise there, ~1e-17; the L2 term feeds theta - theta_start back into the gradient
    // and Adam divides by sqrt(v) + 1e-8, which turns that noise into ~1e-8 differences: a property of
    // Adam on a shift-invariant parameter, not of the device. The L2 value itself is compared below.)
    const CorrectionConfig cc{.kl_weight = 1.0, .l2_weight = 0.0, .steps = 2, .batch_size = 4, .lr = 1e-2};
    auto cpu = gpt_on(Device::cpu, 23, f64_gpt()), dev = gpt_on(device, 23, f64_gpt());
    Generator g1(24), g2(24);
    train_correction(*cpu, retained, recalled, weights, cc, g1);
    train_correction(*dev, retained, recalled, weights, cc, g2);
    CHECK(max_weight_gap(*cpu, *dev) <= kTol);
    check_close(perplexity(*cpu, retained), perplexity(*dev, retained), "perplexity");
    // Every term of the IBO loss of the moved models against their starting point.
    const auto start_cpu = gpt_on(Device::cpu, 23, f64_gpt()), start_dev = gpt_on(device, 23, f64_gpt());
    std::vector<pref::Sequence> few(retained.begin(), retained.begin() + 4);
    std::vector<Tokens> fx, fy, rx, ry;
    for (const auto& s : few) fx.push_back(s.prompt), fy.push_back(s.response);
    for (const auto& s : recalled) rx.push_back(s.prompt), ry.push_back(s.response);
    const CorrectionConfig all{.kl_weight = 1.0, .l2_weight = 0.1};
    const CorrectionLoss l_cpu =
        ibo_loss(*cpu, *start_cpu, make_batch(fx, fy), make_batch(rx, ry), from_vector(weights, {4}), all);
    const CorrectionLoss l_dev = ibo_loss(*dev, *start_dev, make_batch(fx, fy, device), make_batch(rx, ry, device),
                                          from_vector(weights, {4}).to(device), all);
    const CorrectionLoss::Values v_cpu = l_cpu.read(), v_dev = l_dev.read();
    check_close(v_cpu.unlearn_nll, v_dev.unlearn_nll, "IBO unlearning NLL");
    check_close(v_cpu.kl, v_dev.kl, "IBO KL");
    check_close(v_cpu.l2, v_dev.l2, "IBO L2");
    check_close(l_cpu.total.item(), l_dev.total.item(), "IBO total");
    // Recall scores the model where it is: LinFAC on the device gives the CPU's scores
    // (the starting models: the same weights on both sides).
    const auto recall_on = [&](const nn::GPT& model) {
      const auto linfac = influence::make_linfac(influence::KFACTokens::expand);
      return recall_training_data(*linfac, gpt_influence_problem(model, retained, influence::linfac_layers(model)),
                                  undesired_output_query(model, rx, ry));
    };
    check_close(recall_on(*start_cpu).scores, recall_on(*start_dev).scores, "recall scores");
  }
}

TEST_CASE("host synchronisations of one training step on ref: none before the loss is read") {
  test::ThreadCountGuard threads(1);
  const auto data = corpus(8, 25);
  std::vector<Tokens> x, y;
  for (const auto& s : data) x.push_back(s.prompt), y.push_back(s.response);

  // A GPT step: forward, masked mean cross-entropy, backward, AdamW.
  auto model = gpt_on(Device::ref, 26, f64_gpt());
  optim::AdamW opt(model->trainable_parameters(), {.lr = 1e-3});
  const TransferCounts c0 = transfer_counts();
  const SequenceBatch batch = make_batch(x, y, Device::ref);
  const TransferCounts c1 = transfer_counts();
  CHECK(c1.from_host - c0.from_host == 3);  // tokens, mask, last index: once per batch
  opt.zero_grad();
  const Var loss = sft_loss(*model, batch);
  loss.backward();
  opt.step();
  const TransferCounts c2 = transfer_counts();
  CHECK(c2.to_host - c1.to_host == 0);
  CHECK(c2.from_host - c1.from_host == 0);
  CHECK(std::isfinite(loss.item()));
  CHECK(transfer_counts().to_host - c2.to_host == 1);  // reading the loss is the step's one synchronisation

  // A reward-model step (Bradley-Terry on chosen and rejected rows in one forward).
  Generator gen(27);
  RewardModel rm(f64_gpt(), gen, {.pooling = RewardPooling::token_sum, .device = Device::ref});
  optim::AdamW rm_opt(rm.model->trainable_parameters(), {.lr = 1e-3});
  const SequenceBatch both = make_batch(x, y, Device::ref);
  const TransferCounts r0 = transfer_counts();
  rm_opt.zero_grad();
  const Var r = rm.score(both);
  bradley_terry_loss(narrow(r, 0, 0, 4), narrow(r, 0, 4, 4)).backward();
  rm_opt.step();
  CHECK(transfer_counts().to_host - r0.to_host == 0);
  CHECK(transfer_counts().from_host - r0.from_host == 0);

  // A DPO step: the reference log-probs cross once, in one copy.
  auto policy = gpt_on(Device::ref, 28, f64_gpt());
  optim::AdamW dpo_opt(policy->trainable_parameters(), {.lr = 1e-3});
  const std::vector<Tokens> xs(x.begin(), x.begin() + 4), yc(y.begin(), y.begin() + 4), yr(y.begin() + 4, y.end());
  const TransferCounts d0 = transfer_counts();
  const Tensor ref_lp = from_vector(std::vector<double>{-5, -6, -7, -8, -6, -5, -8, -7}, {8}).to(Device::ref);
  const Var lp = pair_logprobs(*policy, xs, yc, yr, false);
  dpo_opt.zero_grad();
  dpo_loss(narrow(lp, 0, 0, 4), narrow(lp, 0, 4, 4), ref_lp.narrow(0, 0, 4), ref_lp.narrow(0, 4, 4), {}).backward();
  dpo_opt.step();
  CHECK(transfer_counts().to_host - d0.to_host == 0);
  CHECK(transfer_counts().from_host - d0.from_host == 4);  // the reference log-probs and the batch's 3 tensors
}

TEST_CASE("host synchronisations of whole training loops on ref: none per minibatch") {
  test::ThreadCountGuard threads(1);
  const auto data = corpus(24, 30);
  const auto prefs = pairs(8, 31);
  auto reads = [] { return transfer_counts().to_host; };

  // SFT: the losses and their finite check are read every 32 steps and at the end.
  auto model = gpt_on(Device::ref, 32, f64_gpt());
  Generator sft_gen(33);
  uint64_t r0 = reads();
  const auto losses = train_sft(*model, data, {.steps = 40, .batch_size = 4, .lr = 1e-3, .max_grad_norm = 0.5}, sft_gen);
  CHECK(reads() - r0 == 2);  // after steps 32 and 40
  REQUIRE(losses.size() == 40);
  for (double l : losses) CHECK(std::isfinite(l));

  // The reward model: two minibatches an epoch, one read an epoch (its loss and accuracy sums).
  Generator rm_init(34), rm_gen(35);
  RewardModel rm(f64_gpt(), rm_init, {.pooling = RewardPooling::token_sum, .device = Device::ref});
  r0 = reads();
  const RewardTrainHistory rh = train_reward_model(rm, prefs, {.epochs = 3, .batch_size = 4, .lr = 1e-3}, rm_gen);
  CHECK(reads() - r0 == 3);
  CHECK(rh.loss.size() == 3);

  // DPO: the reference log-probs are read once before training; then one read an epoch.
  auto dpo_reads = [&](int64_t epochs) {
    auto policy = gpt_on(Device::ref, 36, f64_gpt());
    const auto reference = clone_gpt(*policy);
    Generator gen(37);
    const uint64_t before = reads();
    train_dpo(*policy, *reference, prefs, {.beta = 0.5, .epochs = epochs, .batch_size = 2, .lr = 1e-3}, gen);
    return reads() - before;
  };
  const uint64_t dpo_one = dpo_reads(1);
  CHECK(dpo_reads(3) - dpo_one == 2);  // four minibatches an epoch, one read an epoch
  CHECK(dpo_one == 2);                 // the reference log-probs, then the epoch's sums

  // PPO-RLHF: the updates read once, whatever the number of minibatches; the
  // rollout's reads (sampling, rewards, the KL and token counts, the
  // advantages' whitening) do not depend on them.
  const auto x = prompts(4, 38);
  auto ppo_reads = [&](int64_t epochs, int64_t minibatch) {
    auto policy = gpt_on(Device::ref, 39, f64_gpt());
    auto critic = gpt_on(Device::ref, 40, f64_gpt(false, true));
    PPORLHF ppo(policy, clone_gpt(*policy), critic, gold,
                {.rollout_prompts = 4, .response_len = 6, .epochs = epochs, .minibatch = minibatch, .lr = 1e-3}, 41);
    const uint64_t before = reads();
    ppo.step(x);
    return reads() - before;
  };
  const uint64_t rollout_only = ppo_reads(0, 4);
  CHECK(ppo_reads(1, 4) - rollout_only == 1);
  CHECK(ppo_reads(3, 1) - rollout_only == 1);  // twelve minibatches, one read

  // OSP: its updates read once, however many passes over the iteration's pairs.
  auto osp_reads = [&](int64_t epochs) {
    auto policy = gpt_on(Device::ref, 42, f64_gpt(true));
    OSP osp(policy, clone_gpt(*policy), nullptr,
            {.samples_per_prompt = 4, .epochs = epochs, .batch_size = 2, .lr = 1e-3},
            {.pooling = RewardPooling::token_sum}, 43);
    const uint64_t before = reads();
    osp.step(x);
    return reads() - before;
  };
  CHECK(osp_reads(3) == osp_reads(1));

  // COPR, a task with an old task's memory: no read per step (the violations
  // and the multipliers stay on the device); once an epoch the fit and SFT
  // sums with the finite checks, and the steps' violations and multipliers.
  // Without constraints, only the former.
  const auto task1 = rankings(8, 44), task2 = rankings(8, 45);
  auto copr_reads = [&](ConstraintMode mode, int64_t epochs) {
    auto policy = gpt_on(Device::ref, 46, f64_gpt());
    COPR copr(policy, {.constraint = mode, .replay_fraction = 0.25, .epochs = epochs, .batch_size = 4}, 47);
    copr.learn_task(task1);
    const uint64_t before = reads();
    copr.learn_task(task2);
    return reads() - before;
  };
  CHECK(copr_reads(ConstraintMode::lagrangian, 3) - copr_reads(ConstraintMode::lagrangian, 1) == 4);
  CHECK(copr_reads(ConstraintMode::fixed_lambda, 3) - copr_reads(ConstraintMode::fixed_lambda, 1) == 4);
  CHECK(copr_reads(ConstraintMode::none, 3) - copr_reads(ConstraintMode::none, 1) == 2);

  // LANCET's correction (unlearning, KL, L2, clipping): the finite checks are
  // read every 32 steps and after the last; nothing else.
  const auto recalled = corpus(4, 48);
  auto lancet_reads = [&](int64_t steps) {
    auto policy = gpt_on(Device::ref, 49, f64_gpt());
    Generator gen(50);
    const uint64_t before = reads();
    train_correction(*policy, data, recalled, {0.4, 0.3, 0.2, 0.1},
                     {.kl_weight = 1.0, .l2_weight = 0.1, .steps = steps, .batch_size = 4, .lr = 1e-3,
                      .max_grad_norm = 1.0},
                     gen);
    return reads() - before;
  };
  CHECK(lancet_reads(34) == 2);

  // Distillation on replayed responses (kl_replay) adds no read to DPO's one an epoch.
  auto kl_replay_reads = [&](int64_t epochs) {
    auto policy = gpt_on(Device::ref, 51, f64_gpt());
    ContinualBaselineConfig cfg{.dpo = {.beta = 0.3, .epochs = epochs, .batch_size = 4, .lr = 1e-3},
                                .replay_fraction = 0.5,
                                .replay_batch = 4};
    ContinualBaselineLearner learner(policy, ContinualBaseline::kl_replay, cfg, 52);
    learner.learn_task(task1);  // fills the memory
    const uint64_t before = reads();
    learner.learn_task(task2);
    return reads() - before;
  };
  CHECK(kl_replay_reads(3) - kl_replay_reads(1) == 2);
}

TEST_CASE("bad token ids and targets on a device raise a clear error") {
  auto model = gpt_on(Device::ref, 29, f64_gpt());
  const int64_t V = pref::vocab_size();
  const Tensor too_big = from_vector(std::vector<int64_t>{1, 2, V, 3}, {1, 4}).to(Device::ref);
  const Tensor negative = from_vector(std::vector<int64_t>{1, -1, -2, 3}, {1, 4}).to(Device::ref);
  CHECK(error_of([&] { model->forward(too_big); }) ==
        fmt::format("GPT: token ids outside the vocabulary [0, {}) (1 found)", V));
  CHECK(error_of([&] { model->forward(negative); }) ==
        fmt::format("GPT: token ids outside the vocabulary [0, {}) (2 found)", V));
  // The same model on the CPU keeps its immediate message.
  auto cpu = gpt_on(Device::cpu, 29, f64_gpt());
  CHECK(error_of([&] { cpu->forward(negative.to(Device::cpu)); }) ==
        fmt::format("GPT: token -2 is outside the vocabulary [0, {})", V));
  const Var logits = Var(zeros({3, 4}, DType::f64, Device::ref));
  const Tensor target = from_vector(std::vector<int64_t>{0, -5, 1}, {3}).to(Device::ref);
  CHECK(error_of([&] { cross_entropy(logits, target); }) ==
        "cross_entropy: targets below 0 for 4 classes (ignore_index is -100) (1 found)");
  check_pending_errors();  // nothing left pending on any device
}

TEST_CASE("check_none_bad raises at once on cpu and ref; ErrorLabel nests") {
  for (Device device : {Device::cpu, Device::ref}) {
    CAPTURE(device);
    CHECK(error_of([&] { check_none_bad(scalar(2.0, DType::i64, device), "bad rows"); }) == "bad rows (2 found)");
    CHECK_NOTHROW(check_none_bad(scalar(0.0, DType::i64, device), "bad rows"));
  }
  CHECK(error_of([] { check_none_bad(scalar(1.0, DType::f32), "bad rows"); }) ==
        "check_none_bad: the count must be one integer, got [] f32");
  CHECK(error_label().empty());
  {
    const ErrorLabel outer("outer");
    CHECK(error_label() == "outer");
    {
      const ErrorLabel inner("inner");
      CHECK(error_label() == "inner");
    }
    CHECK(error_label() == "outer");
  }
  CHECK(error_label().empty());
}
