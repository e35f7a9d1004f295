// Model-sampled targets: y~ ~ softmax(z) drawn with nn::sample_categorical,
// then the cross-entropy -log p(y~) per position (and, for a GPT, summed over
// the response positions of each sequence).
#include "algorithms/influence/fisher_targets.h"

#include "autograd/ops.h"

namespace gradlab::influence {

Var sampled_label_losses(const Var& logits, Generator& gen) {
  GL_CHECK(logits.defined() && logits.dim() >= 1 && logits.size(-1) > 0,
           "sampled_label_losses: expected logits [.., C] with C > 0, got {}",
           logits.defined() ? logits.shape() : Shape{});
  const int64_t classes = logits.size(-1);
  const Tensor probs = softmax(logits.value().reshape({-1, classes}), 1);
  Shape target_shape = logits.shape();
  target_shape.erase(target_shape.size() - 1);
  const Tensor targets = nn::sample_categorical(probs, gen).reshape(target_shape);
  return cross_entropy(logits, targets, {.reduction = Reduction::none});
}

Var sampled_sequence_losses(const nn::GPT& model, const Tensor& tokens, const Tensor& response_mask, Generator& gen) {
  GL_CHECK(tokens.defined() && tokens.dim() == 2 && tokens.size(1) >= 2,
           "sampled_sequence_losses: expected tokens [B, T] with T >= 2, got {}",
           tokens.defined() ? tokens.shape() : Shape{});
  GL_CHECK(response_mask.defined() && response_mask.shape() == tokens.shape(),
           "sampled_sequence_losses: response_mask of shape {} should match the tokens {}",
           response_mask.defined() ? response_mask.shape() : Shape{}, tokens.shape());
  const int64_t T = tokens.size(1);
  const Var logits = model.forward(tokens);                  // [B, T, V]
  const Var predicting = slice(logits, 1, 0, T - 1);         // position t predicts token t + 1
  const Var losses = sampled_label_losses(predicting, gen);  // [B, T - 1]
  const Tensor mask = response_mask.slice(1, 1, T).to(losses.dtype());
  return sum(losses * Var(mask), {1});
}

}  // namespace gradlab::influence
