// Batching (prompt, response) sequences, cloning a GPT, sampling responses.
#include "algorithms/alignment/sequences.h"

#include "tensor/error.h"

namespace gradlab::alignment {

using envs::preference::kEnd;

SequenceBatch make_batch(const std::vector<Tokens>& prompts, const std::vector<Tokens>& responses, Device device) {
  GL_CHECK(!prompts.empty() && prompts.size() == responses.size(),
           "alignment::make_batch: need as many responses as prompts (>= 1), got {} and {}", prompts.size(),
           responses.size());
  const int64_t B = int64_t(prompts.size()), P = int64_t(prompts[0].size()), L = int64_t(responses[0].size());
  GL_CHECK(P >= 1 && L >= 1, "alignment::make_batch: empty prompt ({}) or response ({})", P, L);
  std::vector<int64_t> tok(size_t(B * (P + L)));
  std::vector<float> mask(tok.size(), 0.0f);
  std::vector<int64_t> last(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    GL_CHECK(int64_t(prompts[size_t(b)].size()) == P && int64_t(responses[size_t(b)].size()) == L,
             "alignment::make_batch: row {} has a {}-token prompt and {}-token response; row 0 has {} and {}", b,
             prompts[size_t(b)].size(), responses[size_t(b)].size(), P, L);
    int64_t* row = tok.data() + b * (P + L);
    for (int64_t t = 0; t < P; ++t) row[t] = prompts[size_t(b)][size_t(t)];
    bool ended = false;
    for (int64_t t = 0; t < L; ++t) {
      const int64_t y = responses[size_t(b)][size_t(t)];
      row[P + t] = y;
      if (!ended) {
        mask[size_t(b * (P + L) + P + t)] = 1.0f;
        last[size_t(b)] = P + t;
      }
      ended = ended || y == kEnd;
    }
  }
  // Built on the CPU, moved to the device once per batch.
  return {from_vector(tok, {B, P + L}).to(device), from_vector(mask, {B, P + L}).to(device),
          from_vector(last, {B}).to(device), P, L};
}

std::vector<Tokens> split_responses(const Tensor& tokens, int64_t prompt_len) {
  GL_CHECK(tokens.dim() == 2 && tokens.size(1) > prompt_len && prompt_len >= 0,
           "alignment::split_responses: tokens {} with a prompt of {}", tokens.shape(), prompt_len);
  const Tensor t = tokens.to(Device::cpu).to(DType::i64).contiguous();  // one copy back per batch
  const int64_t B = t.size(0), T = t.size(1);
  const int64_t* p = t.data<int64_t>();
  std::vector<Tokens> out(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) out[size_t(b)].assign(p + b * T + prompt_len, p + (b + 1) * T);
  return out;
}

SequenceBatch take_rows(const SequenceBatch& batch, const std::vector<int64_t>& index) {
  const Tensor idx = from_vector(index, {int64_t(index.size())}).to(batch.tokens.device());
  return {index_select(batch.tokens, 0, idx), index_select(batch.response_mask, 0, idx),
          index_select(batch.last_index, 0, idx), batch.prompt_len, batch.response_len};
}

std::shared_ptr<nn::GPT> clone_gpt(const nn::GPT& model) {
  Generator gen(0);
  auto copy = std::make_shared<nn::GPT>(model.config(), gen);
  copy->to(model.device());  // on the model's device, then its weights copied there
  copy->load_state_dict(model.state_dict());
  return copy;
}

std::vector<Tokens> sample_responses(const nn::GPT& policy, const std::vector<Tokens>& prompts, int64_t response_len,
                                     Generator& gen, const nn::GenerateOptions& options) {
  GL_CHECK(!prompts.empty() && response_len >= 1, "alignment::sample_responses: {} prompts, response_len {}",
           prompts.size(), response_len);
  const int64_t B = int64_t(prompts.size()), P = int64_t(prompts[0].size());
  std::vector<int64_t> flat;
  for (const Tokens& p : prompts) {
    GL_CHECK(int64_t(p.size()) == P, "alignment::sample_responses: prompts of {} and {} tokens", P, p.size());
    flat.insert(flat.end(), p.begin(), p.end());
  }
  nn::GenerateOptions o = options;
  o.stop_token = kEnd;
  const Tensor out = policy.generate(from_vector(flat, {B, P}).to(policy.device()), response_len, gen, o);
  std::vector<Tokens> ys = out.size(1) > P ? split_responses(out, P) : std::vector<Tokens>(size_t(B));
  for (Tokens& y : ys) y.resize(size_t(response_len), kEnd);  // generation stops early once every row ended
  return ys;
}

}  // namespace gradlab::alignment
