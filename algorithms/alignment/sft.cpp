// Supervised fine-tuning on the corpus (the reference policy); see sft.h.
#include "algorithms/alignment/sft.h"

#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/finite.h"
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
  std::vector<double> losses;
  policy.train();
  for (int64_t step = 0; step < c.steps; ++step) {
    std::vector<Tokens> prompts, responses;
    for (int64_t b = 0; b < c.batch_size; ++b) {
      const Sequence& s = corpus[size_t(envs::preference::uniform_int(int64_t(corpus.size()), gen))];
      prompts.push_back(s.prompt);
      responses.push_back(s.response);
    }
    const Var loss = sft_loss(policy, make_batch(prompts, responses));
    optim::check_finite_loss(loss, "SFT", step);
    opt.zero_grad();
    loss.backward();
    if (c.max_grad_norm > 0) optim::clip_grad_norm(opt.params(), c.max_grad_norm);
    opt.step();
    losses.push_back(loss.item());
    if (after_step) after_step(step + 1);
  }
  policy.eval();
  return losses;
}

}  // namespace gradlab::alignment
