// check_finite_loss (optim/finite.h) on hand-made losses, and the training
// loops that use it stopping at the first non-finite loss with one clear line
// (SFT and PPO with an absurd learning rate).
#include <doctest/doctest.h>

#include <cmath>

#include "algorithms/alignment/sft.h"
#include "algorithms/rl/ppo.h"
#include "optim/finite.h"
#include "tensor/error.h"
#include "tests/thread_count_guard.h"

using namespace gradlab;
namespace pref = gradlab::envs::preference;

TEST_CASE("check_finite_loss passes finite scalars and names the loop and step otherwise") {
  CHECK_NOTHROW(optim::check_finite_loss(Var(scalar(1.5)), "toy", 3));
  CHECK_THROWS_WITH_AS(optim::check_finite_loss(Var(scalar(NAN)), "toy", 3),
                       doctest::Contains("toy: the loss is nan at step 3; lower the learning rate"), Error);
  CHECK_THROWS_WITH_AS(optim::check_finite_loss(Var(scalar(INFINITY)), "toy", 0),
                       doctest::Contains("toy: the loss is inf at step 0"), Error);
  CHECK_THROWS_WITH_AS(optim::check_finite_loss(Var(zeros({2})), "toy", 0),
                       doctest::Contains("toy: the loss must be a scalar, got shape [2]"), Error);
}

TEST_CASE("SFT and PPO stop at the first non-finite loss instead of training on NaN weights") {
  test::ThreadCountGuard threads(1);
  Generator gen(4);
  const auto corpus = pref::make_corpus(64, {}, {}, {}, gen);
  nn::GPT policy({.vocab = pref::vocab_size(), .context = 12, .d_model = 16, .heads = 2, .layers = 1}, gen);
  CHECK_THROWS_WITH_AS(alignment::train_sft(policy, corpus, {.steps = 50, .batch_size = 8, .lr = 1e300}, gen),
                       doctest::Contains("SFT: the loss is"), Error);

  rl::PPOArgs args;
  args.env_id = "CartPole-v1";
  args.num_envs = 2;
  args.num_steps = 16;
  args.total_timesteps = 2 * 16 * 20;
  args.learning_rate = 1e300;
  args.max_grad_norm = 1e300;
  args.eval_episodes = 1;
  CHECK_THROWS_WITH_AS(rl::train_ppo(args), doctest::Contains("PPO: the loss is"), Error);
}
