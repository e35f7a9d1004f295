// Batches of (prompt, response) token sequences for the alignment algorithms,
// and the reward interface they share. A batch is one padded tensor [B, P + L]
// (every prompt has P tokens, every response L: the preference world's fixed
// lengths) with a mask over the response tokens the policy chose: those up to
// and including the first "." (the end token); the "." padding after it is
// forced, so it is neither scored nor trained on.
#pragma once

#include <functional>
#include <vector>

#include "envs/preference/language.h"
#include "nn/gpt.h"

namespace gradlab::alignment {

using envs::preference::Tokens;

struct SequenceBatch {
  Tensor tokens;         // [B, P + L] i64: prompt then response
  Tensor response_mask;  // [B, P + L] f32: 1 on the response tokens up to and including the first "."
  Tensor last_index;     // [B] i64: position of each row's last masked token (where a reward head reads)
  int64_t prompt_len = 0, response_len = 0;
  int64_t size() const { return tokens.defined() ? tokens.size(0) : 0; }
};

// Stacks equal-length prompts and equal-length responses into one batch,
// built on the CPU and moved to `device` (the model's) in one go.
SequenceBatch make_batch(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses,
                         Device device = Device::cpu);
// The response part (columns prompt_len..) of generated tokens [B, P + L] on
// any device, row by row (one copy to the host).
std::vector<Tokens> split_responses(const Tensor& tokens, int64_t prompt_len);
// Rows `index` of a batch (a minibatch).
SequenceBatch take_rows(const SequenceBatch& batch, const std::vector<int64_t>& index);

// A reward over a batch of (prompt, response) pairs: one scalar per sample.
// A gold reward, a learned reward model, or any combination (e.g. a penalised
// ensemble) plugs into PPO-RLHF through this.
using RewardFn =
    std::function<std::vector<double>(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses)>;

// Called by a training loop after every optimiser step with the number of
// steps taken so far (e.g. to evaluate or snapshot the policy along training).
using AfterStep = std::function<void(int64_t steps_done)>;

// A copy of a GPT (same config, weights copied, on the same device): e.g. the frozen reference policy.
std::shared_ptr<nn::GPT> clone_gpt(const nn::GPT& model);

// Samples one response of `response_len` tokens per prompt (no gradients,
// key/value cache; rows end at "." and are padded with it).
std::vector<Tokens> sample_responses(const nn::GPT& policy, const std::vector<Tokens>& prompts, int64_t response_len,
                                     Generator& gen, const nn::GenerateOptions& options = {});

}  // namespace gradlab::alignment
