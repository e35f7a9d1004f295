// build/bench/train_gpt: trains a character-level GPT on a text file (by
// default a licence text every Debian system ships), shows progress (step,
// loss, tokens/s, ETA), saves a checkpoint with its configuration and
// tokenizer, and prints samples. With --load it samples from a checkpoint.
//   build/bench/train_gpt --steps 1000 --out gpt.safetensors
//   build/bench/train_gpt --load gpt.safetensors --prompt "The " --sample-tokens 500
//   mpirun -np 2 build/bench/train_gpt --distributed --batch 64   (data-parallel, dist/README.md)
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "nn/checkpoint.h"
#include "nn/gpt.h"
#include "nn/tokenizer.h"
#include "optim/adam.h"
#include "optim/clip.h"
#include "optim/schedule.h"
#include "tensor/atomic_file.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::string read_text(const std::string& path) {
  require_regular_file(path, "--text");
  std::ifstream in(path, std::ios::binary);
  GL_CHECK(in.good(), "--text: cannot read '{}'", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string default_text() {
  for (const char* p : {"/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0"})
    if (std::filesystem::exists(p)) return p;
  fail("no default text found under /usr/share/common-licenses; pass --text FILE");
}

// The tokenizer as metadata: its bytes as comma-separated numbers (any byte
// value survives the JSON header that way).
std::string bytes_to_text(const std::string& bytes) {
  std::vector<std::string> parts;
  for (unsigned char c : bytes) parts.push_back(std::to_string(int(c)));
  return join(parts);
}
std::string text_to_bytes(const std::string& text) {
  std::string out;
  for (int64_t v : parse_int_list(text, "tokenizer")) {
    GL_CHECK(v >= 0 && v < 256, "tokenizer: byte {} out of range", v);
    out.push_back(char(v));
  }
  return out;
}

std::map<std::string, std::string> config_metadata(const nn::GPTConfig& c, const nn::CharTokenizer& tok) {
  return {{"gpt.vocab", std::to_string(c.vocab)},
          {"gpt.context", std::to_string(c.context)},
          {"gpt.d_model", std::to_string(c.d_model)},
          {"gpt.heads", std::to_string(c.heads)},
          {"gpt.layers", std::to_string(c.layers)},
          {"gpt.tie_embeddings", c.tie_embeddings ? "1" : "0"},
          {"gpt.gelu_tanh", c.gelu_tanh ? "1" : "0"},
          {"tokenizer.bytes", bytes_to_text(tok.to_string())},
          {"format", "gradlab char GPT"}};
}

int64_t meta_int(const std::map<std::string, std::string>& m, const std::string& key, const std::string& path) {
  auto it = m.find(key);
  GL_CHECK(it != m.end(), "--load: '{}' has no '{}' metadata (not a train_gpt checkpoint?)", path, key);
  const std::vector<int64_t> v = parse_int_list(it->second, fmt::format("--load: '{}': metadata {}", path, key));
  GL_CHECK(v.size() == 1, "--load: '{}': metadata {} = '{}' is not one integer", path, key, it->second);
  return v[0];
}

// A 0/1 option; checkpoints written before the option existed lack it and mean 0.
bool meta_flag(const std::map<std::string, std::string>& m, const std::string& key, const std::string& path) {
  if (!m.count(key)) return false;
  const int64_t v = meta_int(m, key, path);
  GL_CHECK(v == 0 || v == 1, "--load: '{}': metadata {} = {} should be 0 or 1", path, key, v);
  return v == 1;
}

// The metadata's model shape must be the one the checkpoint's tensors have, so that a corrupted or hostile
// header (say gpt.layers = 100000000) is an error before anything the size of its claim is allocated.
void check_config_against_tensors(const nn::GPTConfig& c, const SafetensorsFile& file, const std::string& path) {
  auto shape_of = [&](const std::string& name) {
    for (const auto& [n, t] : file.tensors)
      if (n == name) return t.shape();
    fail("--load: '{}' has no tensor '{}' (not a train_gpt checkpoint?)", path, name);
  };
  int64_t layers = 0;
  while (std::any_of(file.tensors.begin(), file.tensors.end(),
                     [&](const auto& nt) { return nt.first.rfind(fmt::format("blocks.{}.", layers), 0) == 0; }))
    ++layers;
  const Shape tok = shape_of("token_embedding.weight"), pos = shape_of("position_embedding.weight");
  GL_CHECK(tok.size() == 2 && pos.size() == 2 && tok[0] == c.vocab && tok[1] == c.d_model && pos[0] == c.context &&
               pos[1] == c.d_model && layers == c.layers,
           "--load: '{}': the metadata says vocab {}, context {}, d_model {}, layers {}, but the tensors have token "
           "embeddings {}, position embeddings {} and {} blocks",
           path, c.vocab, c.context, c.d_model, c.layers, tok, pos, layers);
  GL_CHECK(c.heads >= 1 && c.d_model % c.heads == 0, "--load: '{}': gpt.heads = {} does not divide d_model {}", path,
           c.heads, c.d_model);
  const bool has_head = std::any_of(file.tensors.begin(), file.tensors.end(),
                                    [](const auto& nt) { return nt.first == "head.weight"; });
  GL_CHECK(has_head != c.tie_embeddings,
           "--load: '{}': the metadata says gpt.tie_embeddings = {}, but the file {} head.weight tensor", path,
           c.tie_embeddings ? 1 : 0, has_head ? "has a" : "has no");
}

// A batch of B windows of T + 1 consecutive tokens from data, at random offsets,
// made on data's device (the offsets are Philox draws: the same on every device;
// off the CPU, 0..T-1 is a running sum of ones there rather than a copy from the host).
std::pair<Tensor, Tensor> batch(const Tensor& data, int64_t B, int64_t T, Generator& gen) {
  const Device dev = data.device();
  const Tensor steps = dev == Device::cpu ? arange(0, double(T), 1, DType::i64, dev)
                                          : add(cumsum(full({T}, 1.0, DType::i64, dev), 0), -1.0);
  const Tensor starts = randint(0, data.numel() - T, {B, 1}, gen, DType::i64, dev);
  const Tensor index = add(starts, steps.view({1, T}));  // [B, T]
  const Tensor x = index_select(data, 0, index.reshape({B * T})).view({B, T});
  const Tensor y = index_select(data, 0, add(index, 1.0).reshape({B * T})).view({B, T});
  return {x, y};
}

double evaluate(const nn::GPT& model, const Tensor& data, int64_t B, int64_t T, int batches, Generator& gen) {
  NoGradGuard guard;
  double total = 0;
  for (int i = 0; i < batches; ++i) {
    const auto [x, y] = batch(data, B, T, gen);
    total += cross_entropy(model(x), y).item();
  }
  return total / batches;
}

std::string eta(double seconds) {
  const int s = int(seconds + 0.5);
  return s >= 60 ? fmt::format("{}m{:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

struct Args {
  std::string text;
  int64_t steps = 1000;
  int64_t batch = 32;
  int64_t context = 64;
  int64_t d_model = 128;
  int64_t heads = 4;
  int64_t layers = 2;
  double lr = 2e-3;
  bool tie_embeddings = false;
  bool gelu_tanh = false;
  double dropout = 0.1;
  int64_t log_every = 100;
  int64_t threads = 1;
  int64_t seed = 0;
  std::string out = "build/train_gpt.safetensors";
  std::string load;
  std::string prompt;
  int64_t sample_tokens = 400;
  double temperature = 0.8;
  int64_t top_k = 0;
  Device device = Device::cpu;
  std::string jsonl;
  bool quick = false;
  bool smoke = false;
  bool distributed = false;
  std::string dist_backend = "auto";
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("train_gpt", "Train a character-level GPT on a text file, save a checkpoint, print samples.");
  Args args;
  cli.bind(args.text, "--text", "training text (default: /usr/share/common-licenses/GPL-3)");
  cli.bind(args.steps, "--steps", "optimiser steps", {1, INT64_MAX});
  cli.bind(args.batch, "--batch", "sequences per step", {1, 65536});
  cli.bind(args.context, "--context", "tokens per sequence", {2, 65536});
  cli.bind(args.d_model, "--d-model", "model width", {1, 65536});
  cli.bind(args.heads, "--heads", "attention heads", {1, 4096});
  cli.bind(args.layers, "--layers", "transformer blocks", {1, 4096});
  cli.bind(args.lr, "--lr", "peak AdamW learning rate (linear warm-up, then cosine to 10%)");
  cli.bind_flag(args.tie_embeddings, "--tie-embeddings", "the output head is the token-embedding matrix");
  cli.bind_flag(args.gelu_tanh, "--gelu-tanh", "the MLP uses GELU's tanh approximation");
  cli.bind(args.dropout, "--dropout", "dropout probability");
  cli.bind(args.log_every, "--log-every", "steps between progress lines (with a validation loss)", {1, INT64_MAX});
  cli.bind(args.threads, "--threads", "OpenMP threads", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for weights, batches and sampling", {0, INT64_MAX});
  cli.bind(args.out, "--out", "checkpoint to write");
  cli.bind(args.load, "--load", "skip training: sample from this checkpoint");
  cli.bind(args.prompt, "--prompt", "text to continue (default: the text's first line)");
  cli.bind(args.sample_tokens, "--sample-tokens", "tokens to generate", {0, INT64_MAX});
  cli.bind(args.temperature, "--temperature", "sampling temperature");
  cli.bind(args.top_k, "--top-k", "sample among the k most likely tokens (0: all)", {0, INT64_MAX});
  cli.bind(args.device, "--device", "where the model, its optimiser state and the text live: cpu, cuda or ref");
  cli.bind(args.jsonl, "--jsonl", "append the final losses and throughput to this file");
  cli.bind_flag(args.quick, "--quick", "a short run (300 steps unless --steps is given)");
  cli.bind_flag(args.smoke, "--smoke", "a few seconds: a tiny model, a few steps, no checkpoint unless --out is given");
  cli.bind_flag(args.distributed, "--distributed",
                "data-parallel over the ranks of an mpirun job (mpirun -np N ... --distributed): "
                "--batch is the global batch, split evenly; rank 0 logs, saves and samples");
  cli.bind(args.dist_backend, "--dist-backend",
           "with --distributed: auto (mpi under mpirun), mpi, "
           "nccl or single");
  cli.parse(argc, argv);
  std::unique_ptr<dist::Communicator> comm;
  try {
    set_num_threads(int(args.threads));
    Generator gen{uint64_t(args.seed)};
    comm = dist::make_communicator(args.distributed ? args.dist_backend : "single");
    const int rank = comm->rank(), world = comm->world_size();
    const bool lead = rank == 0;  // the rank that prints, saves and samples
    nn::CharTokenizer tok;
    nn::GPTConfig config;
    std::unique_ptr<nn::GPT> model;
    std::string text;
    if (!args.load.empty()) {
      // Rebuild the model from the checkpoint's metadata, then load its weights.
      const SafetensorsFile file = load_safetensors(args.load);
      const std::map<std::string, std::string>& meta = file.metadata;
      tok = nn::CharTokenizer::from_string(
          text_to_bytes(meta.count("tokenizer.bytes") ? meta.at("tokenizer.bytes") : ""));
      config = {.vocab = meta_int(meta, "gpt.vocab", args.load),
                .context = meta_int(meta, "gpt.context", args.load),
                .d_model = meta_int(meta, "gpt.d_model", args.load),
                .heads = meta_int(meta, "gpt.heads", args.load),
                .layers = meta_int(meta, "gpt.layers", args.load),
                .tie_embeddings = meta_flag(meta, "gpt.tie_embeddings", args.load),
                .gelu_tanh = meta_flag(meta, "gpt.gelu_tanh", args.load)};
      check_config_against_tensors(config, file, args.load);  // before the model is allocated
      model = std::make_unique<nn::GPT>(config, gen);
      nn::load_module(*model, args.load);
      model->to(args.device);
      std::printf("loaded %s: %lld parameters, vocabulary of %lld characters\n", args.load.c_str(),
                  (long long)model->parameter_count(), (long long)tok.vocab_size());
    } else {
      // --smoke and --quick pick small sizes for the options the command line did not give.
      auto smoke_default = [&](int64_t& value, const char* flag, int64_t small) {
        if (!cli.given(flag)) value = small;
      };
      if (args.smoke) {
        smoke_default(args.steps, "--steps", 3);
        smoke_default(args.batch, "--batch", 2);
        smoke_default(args.context, "--context", 16);
        smoke_default(args.d_model, "--d-model", 16);
        smoke_default(args.heads, "--heads", 2);
        smoke_default(args.layers, "--layers", 1);
        smoke_default(args.log_every, "--log-every", 1);
        smoke_default(args.sample_tokens, "--sample-tokens", 20);
        if (!cli.given("--out")) args.out = "";  // a smoke run writes no checkpoint unless asked to
      }
      if (args.quick && !cli.given("--steps")) args.steps = std::min<int64_t>(args.steps, 300);
      GL_CHECK(args.steps > 0 && args.batch > 0 && args.context > 1,
               "train_gpt: --steps, --batch must be positive and --context > 1");
      GL_CHECK(args.batch % world == 0, "train_gpt: --batch {} (the global batch) does not split evenly over {} ranks",
               args.batch, world);
      if (args.text.empty()) args.text = default_text();
      {  // the checkpoint must not overwrite the training text
        std::error_code ec;
        GL_CHECK(args.out.empty() || !std::filesystem::equivalent(args.text, args.out, ec),
                 "train_gpt: --out '{}' is the training text --text '{}'; choose another file", args.out, args.text);
      }
      text = read_text(args.text);
      // Both parts of the split (90% training, 10% validation) must hold a window of context + 1 tokens.
      const int64_t n_text = int64_t(text.size()), n_val = n_text - n_text * 9 / 10;
      GL_CHECK(n_val >= args.context + 2,
               "--text: '{}' has {} bytes, too short for --context {}: its last 10% (held out for validation) needs "
               "at least {} bytes, so the text at least about {}",
               args.text, n_text, args.context, args.context + 2, 10 * (args.context + 2));
      tok = nn::CharTokenizer::build(text);
      const std::vector<int64_t> ids = tok.encode(text);
      const int64_t split = int64_t(ids.size()) * 9 / 10;  // the last 10% is held out
      // The token ids cross to the device once; every batch is cut from them there.
      const Tensor train_data = from_vector(std::vector<int64_t>(ids.begin(), ids.begin() + split)).to(args.device);
      const Tensor val_data = from_vector(std::vector<int64_t>(ids.begin() + split, ids.end())).to(args.device);
      config = {.vocab = tok.vocab_size(),
                .context = args.context,
                .d_model = args.d_model,
                .heads = args.heads,
                .layers = args.layers,
                .dropout = args.dropout,
                .seed = uint64_t(args.seed),
                .tie_embeddings = args.tie_embeddings,
                .gelu_tanh = args.gelu_tanh};
      model = std::make_unique<nn::GPT>(config, gen);
      // Each rank its own dropout stream (the weights are rank 0's: DataParallel broadcasts them).
      nn::GPTConfig rank_config = config;
      rank_config.seed = uint64_t(args.seed) + uint64_t(rank) * 0x9E3779B97F4A7C15ull;
      if (rank > 0) model = std::make_unique<nn::GPT>(rank_config, gen);
      model->to(args.device);  // drawn on the CPU: the same weights on every device
      std::unique_ptr<dist::DataParallel> ddp;
      if (args.distributed) ddp = std::make_unique<dist::DataParallel>(*comm, model->parameters());
      if (lead && args.distributed)
        std::printf("distributed: %d rank(s) over %s, %lld sequences per rank per step, %lld gradient bucket(s)\n",
                    world, comm->backend().c_str(), (long long)(args.batch / world), (long long)ddp->stats().buckets);
      if (lead)
        std::printf(
            "text %s: %zu bytes, %lld distinct characters; model: %lld parameters; %lld steps of %lld x %lld "
            "tokens, %lld thread(s)\n",
            args.text.c_str(), text.size(), (long long)tok.vocab_size(), (long long)model->parameter_count(),
            (long long)args.steps, (long long)args.batch, (long long)args.context, (long long)args.threads);
      optim::AdamW opt(model->parameters(), {.lr = args.lr, .weight_decay = 0.01});
      const optim::CosineWithWarmup schedule(std::min<int64_t>(100, args.steps / 10), args.steps, 0.1);
      const double start = now();
      double smoothed = 0, last_val = 0, last_rate = 0;
      for (int64_t step = 0; step < args.steps; ++step) {
        model->train();
        // Every rank draws the same global batch and trains on its own rows of it.
        auto [x, y] = batch(train_data, args.batch, args.context, gen);
        if (world > 1) {
          const int64_t rows = args.batch / world;
          x = x.narrow(0, rank * rows, rows).contiguous(), y = y.narrow(0, rank * rows, rows).contiguous();
        }
        const Var loss = cross_entropy((*model)(x), y);
        opt.zero_grad();
        loss.backward();
        if (ddp) ddp->synchronize();  // each grad is now the mean over the ranks
        optim::clip_grad_norm(opt.params(), 1.0);
        opt.set_lr(args.lr * schedule(opt.step_count()));
        opt.step();
        double l = loss.item();
        if (world > 1) {  // the global batch's loss
          Tensor both = tensor({l}, {}, DType::f64);
          comm->all_reduce(both, dist::ReduceOp::mean);
          l = both.item();
        }
        // A non-finite loss has already poisoned the weights: stop here, before
        // a checkpoint of NaNs is written over a good one.
        GL_CHECK(std::isfinite(l), "the loss is {} at step {} (is --lr {} too large?); stopped, no checkpoint written",
                 l, step + 1, args.lr);
        smoothed = step == 0 ? l : 0.95 * smoothed + 0.05 * l;
        if ((step + 1) % args.log_every == 0 || step + 1 == args.steps) {
          model->eval();
          last_val = evaluate(*model, val_data, args.batch, args.context, 4, gen);
          const double elapsed = now() - start;
          last_rate = double((step + 1) * args.batch * args.context) / elapsed;
          if (lead)
            std::printf("step %5lld/%lld | loss %.3f | val %.3f | lr %.2e | %.1fk tok/s | ETA %s\n",
                        (long long)(step + 1), (long long)args.steps, smoothed, last_val, opt.lr(), last_rate / 1e3,
                        eta(elapsed / double(step + 1) * double(args.steps - step - 1)).c_str());
          std::fflush(stdout);
        }
      }
      const double run_seconds = now() - start;
      double comm_fraction = 0;
      if (ddp && lead) {
        const dist::DataParallelStats& st = ddp->stats();
        comm_fraction = st.wait_seconds / run_seconds;
        std::printf(
            "data-parallel: %.2f MB of gradients in %lld bucket(s) per step; %lld of %lld buckets started during "
            "backward; %.3f s waiting for the all-reduce (%.1f%% of %.1f s)\n",
            double(st.bytes_per_step) / 1e6, (long long)st.buckets, (long long)st.started_in_backward,
            (long long)(st.buckets * st.steps), st.wait_seconds, 100.0 * st.wait_seconds / run_seconds, run_seconds);
      }
      if (!args.out.empty() && lead) {  // one checkpoint, written atomically by rank 0
        const std::filesystem::path dir = std::filesystem::path(args.out).parent_path();
        if (!dir.empty()) std::filesystem::create_directories(dir);
        nn::save_module(*model, args.out, config_metadata(config, tok));
        std::printf("saved %s\n", args.out.c_str());
      }
      Jsonl log(lead ? args.jsonl : std::string());
      const std::map<std::string, std::string> where =
          args.device == Device::cpu ? std::map<std::string, std::string>{}
                                     : std::map<std::string, std::string>{{"device", std::string(device_name(args.device))}};
      log.write({.bench = "train_gpt",
                 .case_name = "char_gpt",
                 .metric = "train_loss",
                 .value = smoothed,
                 .unit = "nats",
                 .threads = int(args.threads),
                 .extra = where});
      log.write({.bench = "train_gpt",
                 .case_name = "char_gpt",
                 .metric = "val_loss",
                 .value = last_val,
                 .unit = "nats",
                 .threads = int(args.threads),
                 .extra = where});
      log.write({.bench = "train_gpt",
                 .case_name = "char_gpt",
                 .metric = "tokens_per_s",
                 .value = last_rate,
                 .unit = "tokens/s",
                 .threads = int(args.threads),
                 .extra = where});
      if (args.distributed) {  // the data-parallel figures: throughput and the share of the run spent waiting
        const std::string case_name = fmt::format("gpt_train/ranks={}", world);
        log.write({.bench = "distributed",
                   .case_name = case_name,
                   .metric = "tokens_per_s",
                   .value = last_rate,
                   .unit = "tokens/s",
                   .threads = int(args.threads),
                   .extra = {{"backend", comm->backend()}}});
        log.write({.bench = "distributed",
                   .case_name = case_name,
                   .metric = "comm_fraction",
                   .value = comm_fraction,
                   .unit = "fraction",
                   .threads = int(args.threads),
                   .extra = {{"backend", comm->backend()}}});
      }
    }
    if (!lead) return 0;  // rank 0 samples
    // Samples.
    model->eval();
    std::string start_text = args.prompt;
    if (start_text.empty())
      start_text = text.empty() ? std::string(1, tok.to_string()[0])
                                : text.substr(0, text.find('\n') == std::string::npos ? text.size()  // no newline: all
                                                                                      : text.find('\n') + 1);
    if (int64_t(start_text.size()) > config.context / 2)
      start_text = start_text.substr(start_text.size() - config.context / 2);
    const std::vector<int64_t> prompt_ids = tok.encode(start_text);
    const Tensor generated =
        model->generate(from_vector(prompt_ids, {1, int64_t(prompt_ids.size())}).to(args.device), args.sample_tokens, gen,
                        {.temperature = args.temperature, .top_k = args.top_k});
    std::printf("---- sample (temperature %.2f%s) ----\n%s\n----\n", args.temperature,
                args.top_k > 0 ? fmt::format(", top-k {}", args.top_k).c_str() : "",
                tok.decode(generated.to_vector<int64_t>()).c_str());
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    // Under mpirun, stop every rank with the message rather than leave the others waiting.
    if (comm && comm->world_size() > 1) comm->abort(fmt::format("train_gpt: {}", e.what()));
    std::fprintf(stderr, "train_gpt: %s\n", e.what());
    return 1;
  }
  return 0;
}
