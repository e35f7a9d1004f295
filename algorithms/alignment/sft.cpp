// Supervised fine-tuning on the corpus (the reference policy); see sft.h.
#include "algorithms/alignment/sft.h"

#include "dist/data_parallel.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/finite.h"
#include "optim/step_tally.h"
#include "tensor/error.h"

namespace gradlab::alignment {

Var sft_loss(const nn::GPT& policy, const SequenceBatch& batch) {
  const int64_t T = batch.tokens.size(1);
  const Var logits = slice(policy.forward(batch.tokens), 1, 0, T - 1);  // position i predicts token i + 1
  const Tensor targets = batch.tokens.slice(1, 1, T).contiguous();
  const Tensor weights = batch.response_mask.slice(1, 1, T).contiguous();  // response tokens only
  // -(1/N) sum over response tokens of log pi(y_t | x, y_<t)
  return cross_entropy(logits, targets, {.mask = weights, .reduction = Reduction::mean});
}

std::vector<double> train_sft(nn::GPT& policy, const std::vector<Sequence>& corpus, const SFTConfig& c,
                              Generator& gen, const AfterStep& after_step) {
  GL_CHECK(!corpus.empty() && c.steps >= 0 && c.batch_size >= 1, "train_sft: {} sequences, steps {}, batch_size {}",
           corpus.size(), c.steps, c.batch_size);
  optim::AdamW opt(policy.trainable_parameters(), {.lr = c.lr, .weight_decay = c.weight_decay});
  const int world = c.communicator ? c.communicator->world_size() : 1;
  const int rank = c.communicator ? c.communicator->rank() : 0;
  std::unique_ptr<dist::DataParallel> ddp;  // broadcasts rank 0's weights
  if (world > 1) ddp = std::make_unique<dist::DataParallel>(*c.communicator, opt.params());
  // The response tokens sft_loss averages over.
  auto tokens_of = [](const SequenceBatch& b) {
    return sum(b.response_mask.slice(1, 1, b.response_mask.size(1))).item();
  };
  std::vector<double> losses;
  // On a device the step losses stay there and are read every kStepsPerRead steps.
  constexpr int64_t kStepsPerRead = 32;
  optim::StepTally tally("SFT", policy.device());
  policy.train();
  for (int64_t step = 0; step < c.steps; ++step) {
    std::vector<Tokens> prompts, responses;
    for (int64_t b = 0; b < c.batch_size; ++b) {
      const Sequence& s = corpus[size_t(envs::preference::uniform_int(int64_t(corpus.size()), gen))];
      prompts.push_back(s.prompt);
      responses.push_back(s.response);
    }
    opt.zero_grad();
    if (world == 1) {
      const Var loss = sft_loss(policy, make_batch(prompts, responses, policy.device()));
      tally.check_finite(loss, step);
      loss.backward();
      tally.record(loss.value());
    } else {
      // This rank's rows; its mean weighted by its share of the global batch's tokens.
      std::vector<Tokens> my_prompts, my_responses;
      for (int64_t b = rank; b < c.batch_size; b += world)
        my_prompts.push_back(prompts[size_t(b)]), my_responses.push_back(responses[size_t(b)]);
      const double all_tokens = tokens_of(make_batch(prompts, responses, policy.device()));
      Tensor part = zeros({1}, DType::f64);
      if (!my_prompts.empty()) {
        const SequenceBatch mine = make_batch(my_prompts, my_responses, policy.device());
        const double share = tokens_of(mine) / all_tokens;
        const Var loss = sft_loss(policy, mine);
        optim::check_finite_loss(loss, "SFT", step);
        (loss * (double(world) * share)).backward();
        part.fill_(loss.item() * share);
      }
      ddp->synchronize();
      c.communicator->all_reduce(part, dist::ReduceOp::sum);  // the global batch's token mean
      losses.push_back(part.item());
    }
    if (c.max_grad_norm > 0) optim::clip_grad_norm_async(opt.params(), c.max_grad_norm);
    opt.step();
    if (world == 1 && ((step + 1) % kStepsPerRead == 0 || step + 1 == c.steps)) {
      tally.read();
      const std::vector<double> read = tally.take_recorded();
      losses.insert(losses.end(), read.begin(), read.end());
    }
    if (after_step) after_step(step + 1);
  }
  policy.eval();
  return losses;
}

}  // namespace gradlab::alignment
