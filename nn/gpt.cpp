// GPT: embeddings, blocks, heads, scoring and generation.
#include "nn/gpt.h"

#include <vector>

namespace gradlab::nn {

GPT::GPT(const GPTConfig& c, Generator& gen) : config_(c) {
  GL_CHECK(c.vocab > 0 && c.context > 0 && c.d_model > 0 && c.layers >= 0,
           "GPT: sizes must be positive (vocab {}, context {}, d_model {}, layers {})", c.vocab, c.context, c.d_model,
           c.layers);
  GL_CHECK(c.heads > 0 && c.d_model % c.heads == 0, "GPT: d_model {} is not a multiple of heads {}", c.d_model,
           c.heads);
  token_embedding = register_module("token_embedding",
                                    std::make_shared<Embedding>(c.vocab, c.d_model, gen, c.embedding_std, c.dtype));
  position_embedding = register_module(
      "position_embedding", std::make_shared<Embedding>(c.context, c.d_model, gen, c.embedding_std, c.dtype));
  auto list = register_module("blocks", std::make_shared<ModuleList>());
  for (int64_t l = 0; l < c.layers; ++l)
    blocks.push_back(list->push_back(std::make_shared<Block>(c.d_model, c.heads, gen, c.dropout,
                                                             derive_seed(c.seed, uint64_t(l)), c.dtype, c.gelu_tanh)));
  ln_f = register_module("ln_f", std::make_shared<LayerNorm>(c.d_model, 1e-5, c.dtype));
  if (!c.tie_embeddings)
    head = register_module(
        "head", std::make_shared<Linear>(c.d_model, c.vocab, gen, LinearOptions{.bias = false, .dtype = c.dtype}));
  const LinearOptions scalar{.bias = true, .dtype = c.dtype};
  if (c.value_head) value_head = register_module("value_head", std::make_shared<Linear>(c.d_model, 1, gen, scalar));
  if (c.reward_head) reward_head = register_module("reward_head", std::make_shared<Linear>(c.d_model, 1, gen, scalar));
  if (c.matmul_dtype) {
    GL_CHECK(is_floating(*c.matmul_dtype), "GPT: matmul_dtype must be floating (f32, f64 or bf16), got {}",
             *c.matmul_dtype);
    for (const auto& block : blocks)
      for (const auto& layer : {block->attn->qkv, block->attn->proj, block->fc, block->fc_out})
        layer->compute_dtype = c.matmul_dtype;
    if (head) head->compute_dtype = c.matmul_dtype;
  }
}

void GPT::check_tokens(const Tensor& idx, int64_t start, std::string_view op) const {
  GL_CHECK(idx.defined() && idx.dim() == 2 && is_integral(idx.dtype()),
           "{}: expected token ids [B, T] (i32/i64), got {}", op,
           idx.defined() ? fmt::format("{} {}", idx.shape(), idx.dtype()) : "undefined");
  GL_CHECK(start + idx.size(1) <= config_.context, "{}: {} tokens (after {} cached) exceed the context of {}", op,
           idx.size(1), start, config_.context);
  if (idx.numel() == 0) return;
  if (idx.device() == Device::cpu) {
    const int64_t lo = min(idx).item<int64_t>(), hi = max(idx).item<int64_t>();
    GL_CHECK(lo >= 0 && hi < config_.vocab, "{}: token {} is outside the vocabulary [0, {})", op, lo < 0 ? lo : hi,
             config_.vocab);
  } else {  // counted on the device, not read back: at once on ref, at the next check on cuda (tensor/backend.h)
    const Tensor bad = add(sum(lt(idx, 0.0).to(DType::i64)), sum(ge(idx, double(config_.vocab)).to(DType::i64)));
    check_none_bad(bad, fmt::format("{}: token ids outside the vocabulary [0, {})", op, config_.vocab));
  }
}

Var GPT::embed(const Tensor& idx, int64_t start) const {
  const int64_t T = idx.size(1);
  // Positions start..start+T-1, made where the tokens are (arange fills them on the host and copies them
  // over; a running sum of ones makes them on the device, without a copy).
  const Tensor pos = idx.device() == Device::cpu
                         ? arange(double(start), double(start + T), 1, DType::i64, idx.device())
                         : add(cumsum(full({T}, 1.0, DType::i64, idx.device()), 0), double(start - 1));
  return token_embedding->forward(idx) + position_embedding->forward(pos);  // [B, T, C] + [T, C]
}

void GPT::add_lora(int64_t rank, double alpha, Generator& gen) {
  const Device where = device();
  freeze();
  for (const auto& block : blocks)
    for (const auto& linear : {block->attn->qkv, block->attn->proj, block->fc, block->fc_out})
      linear->add_low_rank_adapter(rank, alpha, gen);
  if (where != Device::cpu) to(where);  // the adapters are drawn on the CPU, then join the model
}

Var GPT::embed_tokens(const Tensor& idx, std::string_view op) const {
  check_tokens(idx, 0, op);
  return embed(idx, 0);
}

Var GPT::hidden_from_embeddings(const Var& embeddings, const LinearApply& apply) const {
  Var x = embeddings;
  for (const auto& b : blocks) x = b->forward(x, apply);
  return ln_f->forward(x);
}

Var GPT::hidden(const Tensor& idx) const { return hidden_from_embeddings(embed_tokens(idx)); }

const Var& GPT::output_weight() const { return head ? head->weight : token_embedding->weight; }

// Tied: one linear node reading the embedding matrix as [vocab, d_model], so
// its weight gradient adds into the same leaf the embedding lookup feeds.
Var GPT::logits(const Var& h) const {
  if (head) return head->forward(h);
  return linear_in(config_.matmul_dtype.value_or(config_.dtype), h, token_embedding->weight, Var());
}

Var GPT::forward(const Tensor& idx) const { return logits(hidden(idx)); }

Var GPT::values(const Tensor& idx) const {
  GL_CHECK(value_head != nullptr, "GPT::values: the model has no value head (GPTConfig::value_head)");
  const Var v = value_head->forward(hidden(idx));  // [B, T, 1]
  return squeeze(v, -1);
}

Var GPT::rewards(const Tensor& idx, const Tensor& last_index) const {
  GL_CHECK(reward_head != nullptr, "GPT::rewards: the model has no reward head (GPTConfig::reward_head)");
  const Var h = hidden(idx);  // [B, T, C]
  const int64_t B = idx.size(0), T = idx.size(1), C = config_.d_model;
  Tensor last = last_index.defined() ? last_index.to(DType::i64).to(idx.device())
                                     : full({B}, double(T - 1), DType::i64, idx.device());
  GL_CHECK(last.shape() == Shape{B}, "GPT::rewards: last_index of shape {} should be [{}]", last.shape(), B);
  const Tensor index = last.view({B, 1, 1}).expand({B, 1, C}).contiguous();
  const Var at_last = squeeze(gather(h, 1, index), 1);  // [B, C]
  return squeeze(reward_head->forward(at_last), -1);    // [B]
}

Var GPT::token_logprobs(const Tensor& idx) const {
  GL_CHECK(idx.dim() == 2 && idx.size(1) >= 2, "token_logprobs: need token ids [B, T] with T >= 2, got {}",
           idx.shape());
  const int64_t T = idx.size(1);
  const Var logits = slice(forward(idx), 1, 0, T - 1);  // predictions for positions 1..T-1
  const Tensor targets = idx.slice(1, 1, T).to(DType::i64);
  // log p = -cross_entropy per token (the fused log-softmax + NLL).
  return -cross_entropy(logits, targets, {.reduction = Reduction::none});
}

GPT::SequenceLogprob GPT::sequence_logprob(const Tensor& idx, const Tensor& response_mask) const {
  GL_CHECK(response_mask.defined() && response_mask.shape() == idx.shape(),
           "sequence_logprob: response_mask of shape {} should match the tokens {}",
           response_mask.defined() ? response_mask.shape() : Shape{}, idx.shape());
  const Var lp = token_logprobs(idx);
  const Tensor mask = response_mask.slice(1, 1, idx.size(1)).to(lp.dtype());
  const Var total = sum(lp * Var(mask), {1});
  const Tensor count = maximum(sum(mask, {1}), 1.0);
  return {total, total / Var(count)};
}

Tensor GPT::forward_cached(const Tensor& idx, KVCache& cache) const {
  NoGradGuard guard;
  check_tokens(idx, cache.length, "GPT::forward_cached");
  if (cache.k.empty()) {
    cache.k.resize(blocks.size());
    cache.v.resize(blocks.size());
  }
  Tensor x = embed(idx, cache.length).value();
  for (size_t l = 0; l < blocks.size(); ++l) x = blocks[l]->forward_cached(x, cache.k[l], cache.v[l], cache.length);
  cache.length += idx.size(1);
  return logits(ln_f->forward(Var(x))).value();
}

Tensor top_k_filter(const Tensor& logits, int64_t k) {
  GL_CHECK(logits.dim() == 2, "top_k_filter: expected logits [B, V], got {}", logits.shape());
  if (k <= 0 || k >= logits.size(1)) return logits;
  const Tensor kth = topk(logits, k, 1).values.narrow(1, k - 1, 1);  // [B, 1]
  return where(lt(logits, kth), full({}, -INFINITY, logits.dtype(), logits.device()), logits);
}

Tensor sample_categorical(const Tensor& probs, Generator& gen) {
  GL_CHECK(probs.dim() == 2 && probs.size(1) > 0, "sample_categorical: expected probabilities [B, V], got {}",
           probs.shape());
  const int64_t B = probs.size(0), V = probs.size(1);
  const Tensor u = rand({B, 1}, gen, DType::f64, probs.device());  // Philox: the same numbers on either device
  const Tensor cdf = cumsum(probs.to(DType::f64), 1);
  // The first index whose cumulative probability exceeds u (the last one if rounding leaves none).
  const Tensor above = gt(cdf, mul(u, cdf.narrow(1, V - 1, 1)));
  return argmax(above.to(DType::i32), 1);
}

Tensor GPT::generate(const Tensor& prompt, int64_t max_new_tokens, Generator& gen, const GenerateOptions& o) const {
  NoGradGuard guard;
  check_tokens(prompt, 0, "generate");
  GL_CHECK(prompt.size(1) >= 1, "generate: the prompt needs at least one token");
  GL_CHECK(max_new_tokens >= 0, "generate: max_new_tokens must be >= 0, got {}", max_new_tokens);
  GL_CHECK(o.greedy || o.temperature > 0, "generate: temperature must be positive, got {}", o.temperature);
  GL_CHECK(o.stop_check_every >= 0, "generate: stop_check_every must be >= 0 (0 chooses), got {}", o.stop_check_every);
  const int64_t B = prompt.size(0), P = prompt.size(1);
  const Device device = prompt.device();
  const int64_t check_every = o.stop_check_every > 0 ? o.stop_check_every : device == Device::cpu ? 1 : 8;
  Tensor tokens = prompt.to(DType::i64);
  Tensor done = zeros({B}, DType::b8, device);
  // With a stop token: on the device, the number of steps after which some row
  // was still running; and on the host, the generator's offset after each step.
  Tensor running_steps = zeros({}, DType::i64, device);
  std::vector<uint64_t> offset_after;
  KVCache cache;
  Tensor logits;  // [B, V] of the last position
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    const int64_t T = tokens.size(1);
    if (o.use_cache && T <= config_.context) {
      const Tensor fresh = step == 0 ? tokens : tokens.narrow(1, T - 1, 1);
      logits = forward_cached(fresh, cache).select(1, -1);
    } else {  // no cache, or past the context: recompute over the last `context` tokens
      const int64_t start = std::max<int64_t>(0, T - config_.context);
      logits = forward(tokens.slice(1, start, T)).value().select(1, -1);
    }
    Tensor next;
    if (o.greedy) {
      next = argmax(logits, 1);
    } else {
      const Tensor scaled = top_k_filter(div(logits, o.temperature), o.top_k);
      next = sample_categorical(softmax(scaled, 1), gen);
    }
    if (o.stop_token >= 0) {
      next = where(done, full({}, double(o.stop_token), DType::i64, device), next);
      done = ne(add(done.to(DType::i64), eq(next, double(o.stop_token)).to(DType::i64)), 0.0);
      running_steps = add(running_steps, eq(min(done.to(DType::i64)), 0.0).to(DType::i64));  // +1 while a row runs
      offset_after.push_back(gen.offset());
    }
    tokens = concat({tokens, next.view({B, 1})}, 1);
    if (o.stop_token >= 0 && ((step + 1) % check_every == 0 || step + 1 == max_new_tokens)) {
      // Every row had stopped after step `running` (0-based) if it is below the steps taken.
      const int64_t running = running_steps.item<int64_t>();
      if (running < step + 1) {
        tokens = tokens.narrow(1, 0, P + running + 1).contiguous();
        gen.set_offset(offset_after[size_t(running)]);
        break;
      }
    }
  }
  return tokens;
}

}  // namespace gradlab::nn
