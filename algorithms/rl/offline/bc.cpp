// Behaviour cloning, one file in the manner of CleanRL: the loss, then the
// offline loop (sample a batch of the standardised dataset, one Adam step on
// the regression, evaluate mu(s) in the true env now and then).
#include "algorithms/rl/offline/bc.h"

#include <fmt/format.h>

#include <cmath>

#include "algorithms/rl/networks.h"
#include "algorithms/rl/rl_utils.h"
#include "envs/env.h"
#include "optim/adam.h"
#include "optim/finite.h"
#include "tensor/error.h"

namespace gradlab::rl {

Var bc_loss(const Var& pi, const Tensor& data_actions) {
  GL_CHECK(pi.dim() == 2 && data_actions.shape() == pi.shape(),
           "bc_loss: pi [B, A] and data actions [B, A] expected, got {} and {}", pi.shape(), data_actions.shape());
  return mse(pi, data_actions);  // mean over the batch and the action dims
}

OfflineResult train_bc(const BCArgs& args, const envs::Dataset& data) {
  GL_CHECK(args.gradient_steps > 0 && args.batch_size > 0 && args.eval_episodes > 0 && args.eval_every >= 0,
           "train_bc: gradient_steps ({}), batch_size ({}) and eval_episodes ({}) must be positive, eval_every ({}) "
           ">= 0",
           args.gradient_steps, args.batch_size, args.eval_episodes, args.eval_every);
  GL_CHECK(args.lr > 0 && std::isfinite(args.lr), "train_bc: lr must be positive and finite, got {}", args.lr);
  GL_CHECK(!args.hidden.empty(), "train_bc: needs at least one hidden layer");
  OfflineEvaluator evaluator("train_bc", args.exp_name, data, args.gradient_steps, args.eval_every, args.eval_episodes,
                             args.seed, args.progress_seconds);
  const envs::EnvPtr probe = envs::make_env(evaluator.env_id());
  const StateNormalizer norm =
      args.normalize_states ? StateNormalizer::fit(data) : StateNormalizer::identity(data.obs_dim());
  const ReplayBuffer buffer = dataset_buffer(data, args.device);
  Generator init_gen = Generator(args.seed).fork(0);
  auto actor = std::make_shared<DeterministicActor>(data.obs_dim(), probe->action_space(), args.hidden, init_gen);
  actor->to(args.device);  // initialised on the CPU, then moved
  optim::Adam optimizer(actor->parameters(), {.lr = args.lr});
  Generator sample_gen = Generator(args.seed).fork(3);
  const auto act = [actor, norm, device = args.device](const std::vector<double>& obs) {
    NoGradGuard no_grad;
    return actor->forward(row_tensor(norm.apply(obs)).to(device)).value().to_vector<double>();
  };
  for (int64_t step = 1; step <= args.gradient_steps; ++step) {
    const ReplayBuffer::Batch batch = norm.apply(buffer.sample(args.batch_size, sample_gen));
    const Var loss = bc_loss(actor->forward(batch.obs), batch.actions);
    // On a device, where a read waits for the queue, the loss is checked every 100 steps.
    if (args.device == Device::cpu || step % 100 == 0) optim::check_finite_loss(loss, "BC", step);
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    evaluator.after_step(step, act);
  }
  return evaluator.finish(act);
}

}  // namespace gradlab::rl
