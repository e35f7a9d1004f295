// The GPT: shapes, gradients at a tiny size, scoring (token and sequence
// log-probabilities), value and reward heads, the key/value cache against a
// full forward, the hidden states in two steps (embeddings, then blocks whose
// Linear layers a caller may apply), generation with and without the cache, a
// stop token ending each row (read back every so many tokens without changing
// the result), sampling, errors, overfitting one batch, and a training step on
// a device that copies nothing between host and device (what a CUDA graph
// needs). Weight tying (tied logits, the summed gradient, parameter count,
// checkpoints, the cache, LoRA) and the tanh-approximate GELU option.
#include <doctest/doctest.h>

#include <filesystem>

#include "nn/checkpoint.h"
#include "nn/gpt.h"
#include "optim/adam.h"
#include "tensor/backend.h"
#include "tests/nn/module_check.h"

using namespace gradlab;
using namespace gradlab::nn;

namespace {
GPTConfig tiny(DType dtype = DType::f64) {
  return {.vocab = 7,
          .context = 8,
          .d_model = 8,
          .heads = 2,
          .layers = 2,
          .value_head = true,
          .reward_head = true,
          .embedding_std = 0.5,
          .dtype = dtype};
}
Tensor tokens(std::vector<int64_t> v, int64_t B) { return from_vector(v, {B, int64_t(v.size()) / B}); }
// A stop token and sampling seed for which the tiny model (init seed 5) stops
// both rows of the prompt {1, 2}, {3, 4} early, at different steps (positions
// 10 and 5: the first past the context of 8, where the cache is given up).
constexpr int64_t kStopToken = 0;
constexpr uint64_t kStopSeed = 5;
}  // namespace

TEST_CASE("GPT logits, parameter names and gradients") {
  Generator gen(1);
  GPT gpt(tiny(), gen);
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 1, 2, 3}, 2);
  const Var logits = gpt(idx);
  CHECK(logits.shape() == Shape{2, 5, 7});
  CHECK(gpt.named_parameters()[0].first == "token_embedding.weight");
  CHECK(gpt.named_parameters()[2].first == "blocks.0.ln1.weight");
  const Tensor target = tokens({2, 3, 4, 5, 6, 1, 2, 3, 4, 5}, 2);
  nn_test::check_module_gradients(gpt, [&] { return cross_entropy(gpt(idx), target) + sum(gpt.values(idx)); });
}

TEST_CASE("token and sequence log-probabilities") {
  Generator gen(2);
  GPT gpt(tiny(), gen);
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 1}, 2);
  const Tensor lp = gpt.token_logprobs(idx).value();
  CHECK(lp.shape() == Shape{2, 3});
  const Tensor ls = log_softmax(gpt(idx).value(), -1);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 3; ++t) {
      const int64_t next = idx.to_vector<int64_t>()[size_t(b * 4 + t + 1)];
      CHECK(lp.to_vector<double>()[size_t(b * 3 + t)] ==
            doctest::Approx(ls.select(0, b).select(0, t).to_vector<double>()[size_t(next)]).epsilon(1e-12));
    }
  // response = the last two tokens of each row
  const Tensor mask = tokens({0, 0, 1, 1, 0, 0, 1, 1}, 2);
  const GPT::SequenceLogprob s = gpt.sequence_logprob(idx, mask);
  const std::vector<double> l = lp.to_vector<double>();
  CHECK(s.sum.value().to_vector<double>()[0] == doctest::Approx(l[1] + l[2]));
  CHECK(s.mean.value().to_vector<double>()[1] == doctest::Approx((l[4] + l[5]) / 2));
}

TEST_CASE("value and reward heads") {
  Generator gen(3);
  GPT gpt(tiny(), gen);
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6}, 2);
  CHECK(gpt.values(idx).shape() == Shape{2, 3});
  const Tensor r = gpt.rewards(idx).value();
  CHECK(r.shape() == Shape{2});
  // the reward reads the last real token: padding after it changes nothing
  const Tensor padded = tokens({1, 2, 3, 0, 4, 5, 6, 0}, 2);
  const Tensor rp = gpt.rewards(padded, from_vector(std::vector<int64_t>{2, 2})).value();
  CHECK(max(abs(rp - r)).item() < 1e-12);
  GPT plain({.vocab = 7, .context = 8, .d_model = 8, .heads = 2, .layers = 1}, gen);
  CHECK_THROWS_WITH_AS(plain.values(idx), "GPT::values: the model has no value head (GPTConfig::value_head)", Error);
}

TEST_CASE("hidden states in two steps, with the blocks' Linear layers applied by the caller") {
  Generator gen(5);
  GPT gpt(tiny(), gen);
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6}, 2);
  const Tensor h = gpt.hidden(idx).value();
  const Tensor embedded = gpt.embed_tokens(idx).value();
  CHECK(embedded.shape() == Shape{2, 3, 8});
  const auto values = [](const Tensor& t) { return t.contiguous().to_vector<double>(); };
  CHECK(values(gpt.hidden_from_embeddings(Var(embedded)).value()) == values(h));  // bit for bit
  // A caller's LinearApply sees every Linear of every block (qkv, proj, fc, fc_out) in order.
  std::vector<const Linear*> seen;
  const LinearApply plain = [&](const std::shared_ptr<Linear>& layer, const Var& x) {
    seen.push_back(layer.get());
    return layer->forward(x);
  };
  CHECK(values(gpt.hidden_from_embeddings(Var(embedded), plain).value()) == values(h));
  std::vector<const Linear*> expected;
  for (const auto& b : gpt.blocks)
    for (const auto& l : {b->attn->qkv, b->attn->proj, b->fc, b->fc_out}) expected.push_back(l.get());
  CHECK(seen == expected);
  // Another map changes the result.
  const LinearApply doubled = [](const std::shared_ptr<Linear>& layer, const Var& x) {
    return 2.0 * layer->forward(x);
  };
  CHECK(max(abs(gpt.hidden_from_embeddings(Var(embedded), doubled).value() - h)).item() > 1e-6);
  CHECK_THROWS_WITH_AS(gpt.embed_tokens(tokens({1, 9}, 1), "Caller"), doctest::Contains("Caller: token 9"), Error);
}

TEST_CASE("the key/value cache reproduces the full forward") {
  Generator gen(4);
  GPT gpt(tiny(), gen);
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 6, 5, 4, 3, 2}, 2);
  const Tensor full = gpt(idx).value();
  KVCache cache;
  const Tensor a = gpt.forward_cached(idx.narrow(1, 0, 3), cache);  // prefill 3
  const Tensor b = gpt.forward_cached(idx.narrow(1, 3, 1), cache);  // then one at a time
  const Tensor c = gpt.forward_cached(idx.narrow(1, 4, 2), cache);  // or two
  CHECK(cache.length == 6);
  CHECK(max(abs(concat({a, b, c}, 1) - full)).item() < 1e-12);
}

TEST_CASE("the key/value cache grows past its buffer and keeps every position") {
  // 40 positions: a prefill of 5, then single tokens and one pair, so the
  // buffers grow from 16 to 32 to 64 positions on the way; the cached forward
  // must give the full forward's logits (to f32 rounding: decoding computes
  // the attention with matmul and softmax, the full forward with one kernel).
  GPTConfig config = tiny(DType::f32);
  config.context = 40;
  Generator gen(9);
  GPT gpt(config, gen);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 2 * 40; ++i) ids.push_back((i * 5 + i / 3) % 7);
  const Tensor idx = tokens(ids, 2);
  const Tensor full = gpt(idx).value();
  KVCache cache;
  std::vector<Tensor> parts{gpt.forward_cached(idx.narrow(1, 0, 5), cache)};
  CHECK(cache.k[0].size(2) == 16);
  for (int64_t t = 5; t < 40;) {
    const int64_t n = t == 20 ? 2 : 1;
    parts.push_back(gpt.forward_cached(idx.narrow(1, t, n), cache));
    t += n;
    CHECK(cache.length == t);
    CHECK(cache.k[0].size(2) >= t);
  }
  CHECK(cache.k[1].size(2) == 64);
  CHECK(max(abs(concat(parts, 1) - full)).item() < 1e-5);
}

TEST_CASE("generation with the cache equals generation without it") {
  Generator init(5);
  GPT gpt(tiny(DType::f32), init);
  const Tensor prompt = tokens({1, 2, 3, 4}, 2);
  for (bool greedy : {true, false}) {
    Generator g1(9), g2(9);
    GenerateOptions o{.temperature = 0.8, .top_k = 4, .greedy = greedy};
    o.use_cache = true;
    const Tensor with = gpt.generate(prompt, 12, g1, o);  // 2 + 12 > context 8: falls back past the context
    o.use_cache = false;
    const Tensor without = gpt.generate(prompt, 12, g2, o);
    CHECK(with.shape() == Shape{2, 14});
    CHECK(with.to_vector<int64_t>() == without.to_vector<int64_t>());
    CHECK(min(with).item() >= 0);
    CHECK(max(with).item() < 7);
  }
}

TEST_CASE("a stop token ends each row at its first occurrence and generation once every row has stopped") {
  // Sampling draws one uniform number per row per step whether or not the row
  // has stopped, and rows do not see each other, so the stopped generation must
  // equal the unconstrained one (same seed) up to each row's first stop token.
  Generator init(5);
  GPT gpt(tiny(DType::f32), init);
  const Tensor prompt = tokens({1, 2, 3, 4}, 2);
  const int64_t Tp = 2, max_new = 12, stop = kStopToken;
  for (bool use_cache : {true, false}) {
    CAPTURE(use_cache);
    GenerateOptions o{.temperature = 1.0, .use_cache = use_cache};
    Generator g1(kStopSeed), g2(kStopSeed);
    const Tensor free = gpt.generate(prompt, max_new, g1, o);
    o.stop_token = stop;
    const Tensor stopped = gpt.generate(prompt, max_new, g2, o);
    REQUIRE(free.shape() == Shape{2, Tp + max_new});
    const std::vector<int64_t> f = free.to_vector<int64_t>(), s = stopped.to_vector<int64_t>();
    // Each row's first stop among the generated tokens, in the unconstrained run.
    std::vector<int64_t> first(2, -1);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t t = Tp; t < Tp + max_new && first[size_t(b)] < 0; ++t)
        if (f[size_t(b * (Tp + max_new) + t)] == stop) first[size_t(b)] = t;
    // The seed is chosen so that both rows stop early, at different steps
    // (the earlier row must then be padded).
    REQUIRE(first[0] > 0);
    REQUIRE(first[1] > 0);
    REQUIRE(first[0] != first[1]);
    const int64_t len = std::max(first[0], first[1]) + 1;
    REQUIRE(len < Tp + max_new);
    // Generation ends right after the last row's first stop token.
    REQUIRE(stopped.shape() == Shape{2, len});
    for (int64_t b = 0; b < 2; ++b) {
      CAPTURE(b);
      for (int64_t t = 0; t < len; ++t) {
        CAPTURE(t);
        const int64_t got = s[size_t(b * len + t)];
        if (t <= first[size_t(b)])
          CHECK(got == f[size_t(b * (Tp + max_new) + t)]);  // the same tokens up to and with the stop
        else
          CHECK(got == stop);  // then only the stop token
      }
    }
  }
}

TEST_CASE("how often generation reads back whether every row stopped leaves its result unchanged") {
  Generator init(5);
  GPT gpt(tiny(DType::f32), init);
  const Tensor prompt = tokens({1, 2, 3, 4}, 2);
  const int64_t max_new = 12;
  GenerateOptions o{.temperature = 1.0, .stop_token = kStopToken};
  Generator g_cpu(kStopSeed);
  const Tensor expected = gpt.generate(prompt, max_new, g_cpu, o);  // CPU tensors: a read per token
  REQUIRE(expected.shape() == Shape{2, 11});                        // the last row stops at position 10
  // Intervals below, at and past the stopping step, and longer than the run:
  // the extra tokens drawn are dropped and the generator rewound.
  for (int64_t every : {1, 3, 8, 9, 12, 50}) {
    CAPTURE(every);
    o.stop_check_every = every;
    Generator g(kStopSeed);
    const Tensor got = gpt.generate(prompt, max_new, g, o);
    CHECK(got.shape() == expected.shape());
    CHECK(got.to_vector<int64_t>() == expected.to_vector<int64_t>());
    CHECK(g.offset() == g_cpu.offset());
  }
  // On a device (ref counts its copies like a GPU), the default reads every 8
  // tokens: after 8 (rows still running) and after the 12th (trimmed to 11).
  gpt.to(Device::ref);
  o.stop_check_every = 0;
  Generator g(kStopSeed);
  const TransferCounts before = transfer_counts();
  const Tensor on_ref = gpt.generate(prompt.to(Device::ref), max_new, g, o);
  CHECK(transfer_counts().to_host - before.to_host == 2);
  CHECK(on_ref.to_vector<int64_t>() == expected.to_vector<int64_t>());
  CHECK(g.offset() == g_cpu.offset());
  o.stop_check_every = -1;
  CHECK_THROWS_WITH_AS(gpt.generate(prompt.to(Device::ref), 2, g, o),
                       doctest::Contains("generate: stop_check_every must be >= 0"), Error);
}

TEST_CASE("a GPT training step on a device copies nothing between host and device") {
  // What a CUDA graph needs to capture the step (bench/gpu's gpt_train_small_graph): token and
  // target checks deferred, positions and scalars made on the device. ref counts copies like a GPU.
  Generator init(9);
  GPT gpt(tiny(DType::f32), init);
  gpt.to(Device::ref);
  optim::AdamW opt(gpt.parameters(), {.lr = 1e-3});
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 1}, 2).to(Device::ref);
  const Tensor target = tokens({2, 3, 4, 5, 6, 0, 1, 2}, 2).to(Device::ref);
  const TransferCounts before = transfer_counts();
  for (int step = 0; step < 2; ++step) {
    const Var loss = cross_entropy(gpt(idx), target);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  const TransferCounts after = transfer_counts();
  CHECK(after.to_host == before.to_host);
  CHECK(after.from_host == before.from_host);
}

TEST_CASE("sampling and top-k") {
  const Tensor probs = tensor({0.1, 0.2, 0.7, 0.5, 0.5, 0.0}, {2, 3}, DType::f64);
  Generator gen(3);
  std::vector<int> counts(3, 0);
  const int n = 20000;
  const Tensor many = sample_categorical(probs.narrow(0, 0, 1).expand({n, 3}).contiguous(), gen);
  for (int64_t v : many.to_vector<int64_t>()) ++counts[size_t(v)];
  CHECK(counts[0] / double(n) == doctest::Approx(0.1).epsilon(0.06));
  CHECK(counts[2] / double(n) == doctest::Approx(0.7).epsilon(0.02));
  const Tensor never = sample_categorical(probs.narrow(0, 1, 1).expand({1000, 3}).contiguous(), gen);
  CHECK(max(never).item() <= 1);  // a zero-probability class is never drawn
  const Tensor f = top_k_filter(tensor({1, 5, 3, 4}, {1, 4}), 2);
  CHECK(f.to_vector<float>() == std::vector<float>{-INFINITY, 5, -INFINITY, 4});
}

TEST_CASE("GPT errors name the problem") {
  Generator gen(6);
  GPT gpt(tiny(), gen);
  CHECK_THROWS_WITH_AS(gpt(tokens({1, 2, 3, 7}, 1)), "GPT: token 7 is outside the vocabulary [0, 7)", Error);
  CHECK_THROWS_WITH_AS(gpt(zeros({1, 9}, DType::i64)), "GPT: 9 tokens (after 0 cached) exceed the context of 8", Error);
  CHECK_THROWS_WITH_AS(gpt(zeros({2}, DType::i64)), "GPT: expected token ids [B, T] (i32/i64), got [2] i64", Error);
  CHECK_THROWS_WITH_AS(GPT({.d_model = 10, .heads = 3}, gen), "GPT: d_model 10 is not a multiple of heads 3", Error);
}

TEST_CASE("the GPT overfits one batch") {
  Generator gen(7);
  GPT gpt({.vocab = 16, .context = 16, .d_model = 32, .heads = 2, .layers = 2}, gen);
  optim::AdamW opt(gpt.parameters(), {.lr = 3e-3, .weight_decay = 0.0});
  const Tensor idx = randint(0, 16, {4, 16}, gen), target = randint(0, 16, {4, 16}, gen);
  double loss = 0;
  for (int step = 0; step < 400 && (step == 0 || loss >= 0.05); ++step) {
    const Var l = cross_entropy(gpt(idx), target);
    opt.zero_grad();
    l.backward();
    opt.step();
    loss = l.item();
  }
  CHECK(loss < 0.05);
}

TEST_CASE("tied embeddings: logits are h Wte^T, no head is allocated, the parameter is listed once") {
  Generator gen(11);
  GPTConfig config = tiny();
  config.tie_embeddings = true;
  GPT tied(config, gen);
  CHECK(tied.head == nullptr);
  CHECK(tied.output_weight().value().data<double>() == tied.token_embedding->weight.value().data<double>());
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 1, 2, 3}, 2);
  const Tensor h = tied.hidden(idx).value();                                     // [2, 5, 8]
  const Tensor expected = matmul(h, tied.token_embedding->weight.value().mT());  // [2, 5, 7]
  CHECK(max(abs(tied(idx).value() - expected)).item() < 1e-12);
  for (const auto& [name, p] : tied.named_parameters()) CHECK(name.rfind("head.", 0) != 0);
  int embedding_entries = 0;
  for (const auto& [name, p] : tied.named_parameters()) embedding_entries += name == "token_embedding.weight";
  CHECK(embedding_entries == 1);
  // The count is the untied model's less the head's vocab x d_model.
  Generator gen2(11);
  GPT untied(tiny(), gen2);
  CHECK(untied.parameter_count() - tied.parameter_count() == 7 * 8);
  CHECK(untied.state_dict().size() == tied.state_dict().size() + 1);
  // Central differences through both uses of the tied matrix.
  const Tensor target = tokens({2, 3, 4, 5, 6, 1, 2, 3, 4, 5}, 2);
  nn_test::check_module_gradients(tied, [&] { return cross_entropy(tied(idx), target) + sum(tied.values(idx)); });
}

TEST_CASE("the tied gradient is the embedding path's plus the head path's") {
  GPTConfig tc = tiny();
  tc.tie_embeddings = true;
  Generator g1(12), g2(13);
  GPT tied(tc, g1), untied(tiny(), g2);
  // The untied model gets the tied one's weights, its head a copy of the embedding.
  untied.load_state_dict(tied.state_dict(), /*strict=*/false);
  Tensor head = untied.head->weight.value();  // shares the parameter's storage
  head.copy_(tied.token_embedding->weight.value());
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 1, 2, 3}, 2);
  const Tensor target = tokens({2, 3, 4, 5, 6, 1, 2, 3, 4, 5}, 2);
  const Var lt = cross_entropy(tied(idx), target), lu = cross_entropy(untied(idx), target);
  CHECK(lt.item() == doctest::Approx(lu.item()).epsilon(1e-13));
  tied.zero_grad();
  untied.zero_grad();
  lt.backward();
  lu.backward();
  const Tensor sum_of_paths = add(untied.token_embedding->weight.grad(), untied.head->weight.grad());
  CHECK(max(abs(tied.token_embedding->weight.grad() - sum_of_paths)).item() < 1e-12);
  // Both paths contribute: neither alone is the tied gradient.
  CHECK(max(abs(tied.token_embedding->weight.grad() - untied.head->weight.grad())).item() > 1e-6);
  CHECK(max(abs(tied.token_embedding->weight.grad() - untied.token_embedding->weight.grad())).item() > 1e-6);
  // Every other parameter's gradient is the untied model's.
  const auto nt = tied.named_parameters();
  for (const auto& [name, p] : nt) {
    if (name == "token_embedding.weight" || !p.grad().defined()) continue;  // the scalar heads take no part
    CAPTURE(name);
    for (const auto& [un, up] : untied.named_parameters())
      if (un == name) CHECK(max(abs(p.grad() - up.grad())).item() < 1e-12);
  }
}

TEST_CASE("a tied GPT: checkpoint round trip, the cache, generation and LoRA") {
  GPTConfig config = tiny();
  config.tie_embeddings = true;
  Generator g1(14), g2(15);
  GPT a(config, g1), b(config, g2);
  const std::string path = (std::filesystem::temp_directory_path() / "gradlab_test_tied_gpt.safetensors").string();
  save_module(a, path, {{"gpt.tie_embeddings", "1"}});
  CHECK(load_module(b, path).at("gpt.tie_embeddings") == "1");
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 6, 5, 4, 3, 2}, 2);
  CHECK(max(abs(a(idx).value() - b(idx).value())).item() == 0);
  // A tied file has no head.weight: an untied model refuses it by name.
  Generator g3(16);
  GPT untied(tiny(), g3);
  CHECK_THROWS_WITH_AS(load_module(untied, path), doctest::Contains("head.weight"), Error);
  std::filesystem::remove(path);
  // The cache goes through the same tied head.
  KVCache cache;
  const Tensor x = b.forward_cached(idx.narrow(1, 0, 4), cache);
  const Tensor y = b.forward_cached(idx.narrow(1, 4, 2), cache);
  CHECK(max(abs(concat({x, y}, 1) - b(idx).value())).item() < 1e-12);
  Generator s1(3), s2(3);
  const Tensor prompt = tokens({1, 2, 3, 4}, 2);
  const Tensor with = b.generate(prompt, 5, s1, {.greedy = true});
  const Tensor without = b.generate(prompt, 5, s2, {.greedy = true, .use_cache = false});
  CHECK(with.to_vector<int64_t>() == without.to_vector<int64_t>());
  // LoRA freezes the tied matrix with the rest; only the adapters train.
  b.add_lora(2, 4.0, g3);
  for (const auto& [name, p] : b.named_parameters())
    CHECK(p.requires_grad() == (name.find("lora_") != std::string::npos));
  const Tensor target = tokens({2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1}, 2);
  const Var loss = cross_entropy(b(idx), target);
  loss.backward();
  CHECK(!b.token_embedding->weight.grad().defined());
}

TEST_CASE("the tanh-approximate GELU changes the MLP activation and nothing else") {
  GPTConfig exact = tiny(), approx = tiny();
  approx.gelu_tanh = true;
  Generator g1(17), g2(17);
  GPT a(exact, g1), b(approx, g2);  // identical weights
  const Tensor idx = tokens({1, 2, 3, 4, 5, 6, 0, 1, 2, 3}, 2);
  const double diff = max(abs(a(idx).value() - b(idx).value())).item();
  CHECK(diff > 1e-9);  // the two GELUs differ by up to ~1e-3 ...
  CHECK(diff < 1e-2);  // ... so the logits move only a little
  // One block by hand with the tanh GELU.
  const Block& blk = *b.blocks[0];
  const Var x = Var(randn({2, 3, 8}, g1, DType::f64));
  const Var h = x + blk.attn->forward(blk.ln1->forward(x));
  const Var by_hand = h + blk.fc_out->forward(gelu(blk.fc->forward(blk.ln2->forward(h)), true));
  CHECK(max(abs(blk.forward(x).value() - by_hand.value())).item() < 1e-14);
  const Var erf_version = h + blk.fc_out->forward(gelu(blk.fc->forward(blk.ln2->forward(h)), false));
  CHECK(max(abs(blk.forward(x).value() - erf_version.value())).item() > 1e-9);
  const Tensor target = tokens({2, 3, 4, 5, 6, 1, 2, 3, 4, 5}, 2);
  nn_test::check_module_gradients(b, [&] { return cross_entropy(b(idx), target); });
}
