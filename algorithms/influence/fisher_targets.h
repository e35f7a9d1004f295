// Losses with targets drawn from the model itself, for the true Fisher
// (Gauss-Newton) curvature of K-FAC and LinFAC (Problem::sampled_losses).
// For a softmax output p = softmax(z), drawing y~ ~ p and taking the gradient
// D~ of -log p(y~) gives E[D~ D~^T] = diag(p) - p p^T, the Gauss-Newton
// matrix of the cross-entropy at z, whatever the true labels are.
//
//   sampled_label_losses:    logits [.., C] -> -log p(y~) [..], y~ ~ softmax(logits)
//   sampled_sequence_losses: a GPT's tokens [B, T] -> sum over response
//                            positions t of -log p(y~_t | tokens[:t]) [B], the
//                            inputs teacher-forced (the real tokens), y~_t drawn
//                            from the model's next-token distribution.
// The draws come from `gen` and carry no gradient.
#pragma once

#include "autograd/var.h"
#include "nn/gpt.h"
#include "tensor/random.h"

namespace gradlab::influence {

// Classification: logits [B, C] -> [B]; any leading axes are kept.
Var sampled_label_losses(const Var& logits, Generator& gen);
// response_mask [B, T] (b8 or 0/1 floats) marks the response tokens; position 0
// is never predicted and is ignored (as in nn::GPT::sequence_logprob).
Var sampled_sequence_losses(const nn::GPT& model, const Tensor& tokens, const Tensor& response_mask, Generator& gen);

}  // namespace gradlab::influence
