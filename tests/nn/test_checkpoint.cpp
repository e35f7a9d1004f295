// Module checkpoints: a GPT survives a save and load bit for bit, metadata
// comes back, and a file that does not fit the model is refused by name
// without changing the model.
#include <doctest/doctest.h>

#include <filesystem>

#include "nn/checkpoint.h"
#include "nn/gpt.h"

using namespace gradlab;
using namespace gradlab::nn;

namespace {
std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gradlab_test_" + name)).string();
}
}  // namespace

TEST_CASE("a GPT checkpoint round trip is bit-exact and carries metadata") {
  Generator g1(1), g2(2);
  const GPTConfig config{.vocab = 11, .context = 8, .d_model = 8, .heads = 2, .layers = 2, .value_head = true};
  GPT a(config, g1), b(config, g2);
  const std::string path = temp_path("gpt.safetensors");
  save_module(a, path, {{"note", "hello"}});
  const auto meta = load_module(b, path);
  CHECK(meta.at("note") == "hello");
  const NamedTensors sa = a.state_dict(), sb = b.state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    CHECK(sa[i].first == sb[i].first);
    CHECK(sa[i].second.to_vector<float>() == sb[i].second.to_vector<float>());
  }
  const Tensor idx = from_vector(std::vector<int64_t>{1, 2, 3, 4}, {1, 4});
  CHECK(a(idx).value().to_vector<float>() == b(idx).value().to_vector<float>());
  std::filesystem::remove(path);
}

TEST_CASE("loading a checkpoint of another shape is refused and leaves the model alone") {
  Generator gen(3);
  GPT small({.vocab = 11, .context = 8, .d_model = 8, .heads = 2, .layers = 1}, gen);
  GPT wide({.vocab = 11, .context = 8, .d_model = 16, .heads = 2, .layers = 1}, gen);
  GPT deeper({.vocab = 11, .context = 8, .d_model = 8, .heads = 2, .layers = 2}, gen);
  const std::string path = temp_path("small.safetensors");
  save_module(small, path);
  const NamedTensors before = wide.state_dict();
  const std::vector<float> w0 = before[0].second.to_vector<float>();
  CHECK_THROWS_WITH_AS(
      load_module(wide, path),
      doctest::Contains("'token_embedding.weight' has shape [11, 8] in the state but [11, 16] in the model"), Error);
  CHECK(wide.state_dict()[0].second.to_vector<float>() == w0);
  CHECK_THROWS_WITH_AS(load_module(deeper, path), doctest::Contains("'blocks.1.ln1.weight' is missing from the state"),
                       Error);
  CHECK_THROWS_WITH_AS(load_module(small, temp_path("missing.safetensors")), doctest::Contains("missing.safetensors"),
                       Error);
  std::filesystem::remove(path);
}
