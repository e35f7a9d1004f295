// A character-level GPT on a text file: tokenise by bytes, train on random
// windows with AdamW, then sample. The same model as build/bench/train_gpt,
// without its checkpoints and options, to read in one sitting.
//   build/examples/char_gpt [text file] [steps]
//   (default: a licence text every Debian system ships, 500 steps)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "autograd/ops.h"
#include "nn/gpt.h"
#include "nn/tokenizer.h"
#include "optim/adam.h"

using namespace gradlab;

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "/usr/share/common-licenses/GPL-3";
  const int steps = argc > 2 ? std::atoi(argv[2]) : 500;
  std::ifstream in(path, std::ios::binary);
  std::stringstream text_stream;
  text_stream << in.rdbuf();
  const std::string text = text_stream.str();
  const int64_t context = 64, batch = 16;
  if (!in || int64_t(text.size()) <= context + 1 || steps <= 0) {
    std::fprintf(stderr, "usage: char_gpt [text file of more than %lld bytes] [steps > 0]\n", (long long)context + 1);
    return 2;
  }
  const nn::CharTokenizer tok = nn::CharTokenizer::build(text);
  const std::vector<int64_t> ids = tok.encode(text);
  Generator gen(0);
  nn::GPT model({.vocab = tok.vocab_size(), .context = context, .d_model = 64, .heads = 4, .layers = 2}, gen);
  optim::AdamW opt(model.parameters(), {.lr = 3e-3, .weight_decay = 0.01});

  for (int step = 1; step <= steps; ++step) {
    // A batch of random windows: inputs ids[s .. s+T), targets shifted by one.
    std::vector<int64_t> xs, ys;
    const std::vector<int64_t> starts = randint(0, int64_t(ids.size()) - context - 1, {batch}, gen).to_vector<int64_t>();
    for (int64_t s : starts)
      for (int64_t t = 0; t < context; ++t) {
        xs.push_back(ids[size_t(s + t)]);
        ys.push_back(ids[size_t(s + t + 1)]);
      }
    const Var logits = model(from_vector(xs, {batch, context}));          // [B, T, vocab]
    const Var loss = cross_entropy(logits, from_vector(ys, {batch, context}));  // mean over B x T tokens
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step % 100 == 0 || step == steps) std::printf("step %4d  loss %.3f\n", step, loss.item());
  }
  // Sample 200 characters after the file's first 8.
  model.eval();
  const std::vector<int64_t> prompt(ids.begin(), ids.begin() + 8);
  const Tensor out = model.generate(from_vector(prompt, {1, 8}), 200, gen, {.temperature = 0.8});
  std::printf("---\n%s\n---\n", tok.decode(out.to_vector<int64_t>()).c_str());
  return 0;
}
