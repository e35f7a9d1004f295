// GPT: a small decoder-only transformer. Learned token and position
// embeddings, pre-LN blocks, a final LayerNorm and a head without bias (its
// own matrix, or tied to the token embedding: GPTConfig::tie_embeddings);
// optional scalar heads for values (per token) and rewards (on a
// sequence's last token). Scores sequences (log-probabilities of a response
// given its prompt) and generates with temperature, top-k or greedy decoding
// over a key/value cache.
#pragma once

#include <optional>

#include "nn/transformer.h"

namespace gradlab::nn {

struct GPTConfig {
  int64_t vocab = 64;
  int64_t context = 64;  // longest sequence
  int64_t d_model = 128;
  int64_t heads = 4;
  int64_t layers = 2;
  double dropout = 0.0;
  bool value_head = false;   // a scalar per token
  bool reward_head = false;  // a scalar per sequence, read at its last token
  double embedding_std = 0.02;
  uint64_t seed = 0;  // dropout streams: block l seeds its own from derive_seed(seed, l)
  DType dtype = DType::f32;
  // Weight tying: the output head is the token-embedding matrix (logits =
  // h Wte^T), so no separate head is allocated (GPT::head stays null) and the
  // gradients of both uses add up in token_embedding.weight.
  bool tie_embeddings = false;
  // The MLP's GELU in its tanh approximation (GPT-2's) instead of the exact erf.
  bool gelu_tanh = false;
  // Mixed precision: DType::bf16 runs the products of the blocks' Linear
  // layers and of the output head on bf16 copies of their inputs and weights
  // (nn::linear_in: exact products, f32 sums, results rounded to bf16, then
  // widened back). Everything else stays in `dtype`: the parameters (the
  // master weights) and so their gradients and the optimiser's state, the
  // embeddings, layer norms, attention, softmax and the loss. No loss scaling
  // is needed: bf16 has f32's exponent range, so gradients do not underflow
  // the way f16's do. The default, `dtype` itself, changes nothing.
  std::optional<DType> matmul_dtype = std::nullopt;
};

struct GenerateOptions {
  double temperature = 1.0;
  int64_t top_k = 0;        // 0: the whole vocabulary
  bool greedy = false;      // argmax, ignoring temperature and top_k
  bool use_cache = true;    // decode with a key/value cache
  int64_t stop_token = -1;  // >= 0: a row ends at this token (then pads with it)
  // With a stop token: every how many tokens generation reads back whether
  // every row has stopped (each read waits for the device). 0 chooses: every
  // token for CPU tensors, every 8 on a device. The result does not depend on
  // it: tokens drawn after the step at which the last row stopped are dropped
  // and the generator is put back to where it stood after that step.
  int64_t stop_check_every = 0;
};

class GPT : public Module {
 public:
  GPT(const GPTConfig& config, Generator& gen);

  // Logits [B, T, vocab] of token ids [B, T] (i32/i64, T <= context).
  Var forward(const Tensor& idx) const;
  Var operator()(const Tensor& idx) const { return forward(idx); }
  // Final hidden states [B, T, d_model] (after the last LayerNorm).
  Var hidden(const Tensor& idx) const;
  // hidden(idx) in two steps: the token and position embeddings [B, T, d_model]
  // of checked token ids (`op` names the caller in errors); then the blocks and
  // the final LayerNorm on any [N, T, d_model], each block's Linear layers
  // applied through `apply` when one is given (alignment/reward_ensemble.cpp
  // runs its members' LoRA adapters so).
  Var embed_tokens(const Tensor& idx, std::string_view op = "GPT") const;
  Var hidden_from_embeddings(const Var& x, const LinearApply& apply = {}) const;
  // The output head on hidden states [.., d_model]: logits [.., vocab], through
  // head or, when tied, the token embedding.
  Var logits(const Var& h) const;
  // The head's weight [vocab, d_model]: head->weight, or token_embedding->weight when tied.
  const Var& output_weight() const;
  // The value head on every position: [B, T].
  Var values(const Tensor& idx) const;
  // The reward head at each row's last token: [B]. last_index [B] (i64) picks
  // the last real token of padded rows; undefined means position T - 1.
  Var rewards(const Tensor& idx, const Tensor& last_index = Tensor()) const;

  // log p(idx[:, t+1] | idx[:, :t+1]) for t < T - 1: [B, T - 1].
  Var token_logprobs(const Tensor& idx) const;
  // Log-probability of the response tokens, summed and averaged per token;
  // response_mask [B, T] (b8 or 0/1 floats) marks them (position 0 is never
  // predicted and is ignored).
  struct SequenceLogprob {
    Var sum;   // [B]
    Var mean;  // [B]
  };
  SequenceLogprob sequence_logprob(const Tensor& idx, const Tensor& response_mask) const;

  // Appends up to max_new_tokens sampled tokens to prompt [B, Tp]: [B, Tp + n].
  Tensor generate(const Tensor& prompt, int64_t max_new_tokens, Generator& gen,
                  const GenerateOptions& options = {}) const;
  // LoRA fine-tuning: freezes every parameter and adds a low-rank adapter
  // (Linear::add_low_rank_adapter) to each block's qkv, proj, fc and fc_out;
  // only the adapters train. (A model with adapters has extra state_dict
  // entries, lora_A and lora_B.)
  void add_lora(int64_t rank, double alpha, Generator& gen);

  // Logits [B, Tn, vocab] of new tokens after those in the cache (no gradients).
  Tensor forward_cached(const Tensor& idx, KVCache& cache) const;

  const GPTConfig& config() const { return config_; }

  std::shared_ptr<Embedding> token_embedding, position_embedding;
  std::vector<std::shared_ptr<Block>> blocks;
  std::shared_ptr<LayerNorm> ln_f;
  std::shared_ptr<Linear> head;                     // d_model -> vocab, no bias; null when tied
  std::shared_ptr<Linear> value_head, reward_head;  // d_model -> 1, when configured

 private:
  Var embed(const Tensor& idx, int64_t start) const;
  void check_tokens(const Tensor& idx, int64_t start, std::string_view op) const;
  GPTConfig config_;
};

// Draws one index per row of probabilities [B, V] (rows sum to 1): [B] i64.
Tensor sample_categorical(const Tensor& probs, Generator& gen);
// Keeps the k largest logits of each row of [B, V] and sets the rest to -inf.
Tensor top_k_filter(const Tensor& logits, int64_t k);

}  // namespace gradlab::nn
