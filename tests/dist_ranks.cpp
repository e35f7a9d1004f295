// dist/ across processes: run by tests/check_dist.sh as
//   mpirun -np 2 build/tests/dist_ranks
// Every rank runs every case (each collective needs them all). The two cases
// marked skip are failure scenarios that check_dist.sh runs one at a time:
// they end the job on purpose.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "algorithms/alignment/reward_model.h"
#include "algorithms/alignment/sft.h"
#include "algorithms/rl/ppo.h"
#include "autograd/ops.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "dist/sampler.h"
#include "nn/gpt.h"
#include "optim/sgd.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"
#include "tests/preference_tokens.h"

using namespace gradlab;
using dist::Communicator;
using dist::DataParallel;

namespace {

Communicator& comm() {
  static const std::unique_ptr<Communicator> c = dist::make_communicator("mpi");
  return *c;
}

nn::GPTConfig tiny_gpt() { return {.vocab = 11, .context = 8, .d_model = 16, .heads = 2, .layers = 1}; }

// The global batch of step `step`: B sequences of 8 input and 8 target tokens, alike on every rank.
std::pair<Tensor, Tensor> global_batch(int64_t B, int step) {
  Generator gen(1000 + uint64_t(step));
  const Tensor seq = randint(0, 11, {B, 9}, gen);
  return {seq.narrow(1, 0, 8).contiguous(), seq.narrow(1, 1, 8).contiguous()};
}

double max_diff(const std::vector<Var>& a, const std::vector<Var>& b) {
  double d = 0;
  for (size_t k = 0; k < a.size(); ++k) d = std::max(d, max(abs(sub(a[k].value(), b[k].value()))).item());
  return d;
}

// Trains `steps` SGD steps with momentum; this rank's rows of each global
// batch of B, or all rows with ddp null. (Not Adam: the key bias of attention
// has a gradient that is zero but for rounding, which Adam's normalisation
// would blow up into updates of lr's size that differ between the two runs.)
std::vector<double> train(nn::GPT& model, int steps, int64_t B, DataParallel* ddp) {
  optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  std::vector<double> losses;
  const int r = ddp ? comm().rank() : 0, w = ddp ? comm().world_size() : 1;
  for (int step = 0; step < steps; ++step) {
    auto [x, y] = global_batch(B, step);
    const int64_t rows = B / w;
    x = x.narrow(0, r * rows, rows).contiguous(), y = y.narrow(0, r * rows, rows).contiguous();
    opt.zero_grad();
    const Var loss = cross_entropy(model(x), y);
    loss.backward();
    Tensor l = tensor({loss.item()}, {}, DType::f64);
    if (ddp) {
      ddp->synchronize();
      comm().all_reduce(l, dist::ReduceOp::mean);  // the global batch's mean loss
    }
    losses.push_back(l.item());
    opt.step();
  }
  return losses;
}

}  // namespace

TEST_CASE("mpi: the job has two ranks") {
  REQUIRE(comm().backend() == "mpi");
  REQUIRE(comm().world_size() == 2);
}

TEST_CASE("mpi: all_reduce sum, mean and max; broadcast; all_gather; barrier") {
  const int r = comm().rank();
  Tensor t = tensor({double(r + 1), double(10 * r)}, {}, DType::f64);
  comm().all_reduce(t, dist::ReduceOp::sum);
  CHECK(t.to_vector<double>() == std::vector<double>{3, 10});
  Tensor m = tensor({double(r + 1)});
  comm().all_reduce(m, dist::ReduceOp::mean);
  CHECK(m.item() == doctest::Approx(1.5));
  Tensor x = tensor({double(r), double(-r)}, {}, DType::i64);
  comm().all_reduce(x, dist::ReduceOp::max);
  CHECK(x.to_vector<int64_t>() == std::vector<int64_t>{1, 0});
  Tensor b = full({2, 2}, double(r + 5));
  comm().broadcast(b, 1);
  CHECK(b.to_vector<float>() == std::vector<float>{6, 6, 6, 6});
  const Tensor g = comm().all_gather(full({3}, double(r), DType::f64));
  CHECK(g.shape() == Shape{2, 3});
  CHECK(g.to_vector<double>() == std::vector<double>{0, 0, 0, 1, 1, 1});
  comm().barrier();
}

TEST_CASE("mpi: a shape or dtype that differs between ranks is an error on every rank, not a hang") {
  const int r = comm().rank();
  Tensor t = zeros({3 + r});
  CHECK_THROWS_WITH_AS(comm().all_reduce(t), doctest::Contains("another rank's differs"), Error);
  Tensor u = zeros({4}, r == 0 ? DType::f32 : DType::f64);
  CHECK_THROWS_WITH_AS(comm().broadcast(u), doctest::Contains("another rank's differs"), Error);
  comm().barrier();  // still in step
}

TEST_CASE("mpi: the sampler's shards cover every example exactly once per epoch") {
  for (const int64_t n : {10, 11}) {
    const dist::DistributedSampler s(n, comm().rank(), comm().world_size(), 3);
    for (const int64_t epoch : {0, 1}) {
      std::vector<int64_t> mine = s.indices(epoch);
      mine.resize(size_t((n + 1) / 2), -1);  // pad the shorter shard for all_gather
      const std::vector<int64_t> all = comm().all_gather(from_vector(mine)).to_vector<int64_t>();
      std::vector<int64_t> seen;
      for (const int64_t i : all)
        if (i >= 0) seen.push_back(i);
      std::sort(seen.begin(), seen.end());
      std::vector<int64_t> expect(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) expect[size_t(i)] = i;
      CHECK(seen == expect);
    }
  }
}

TEST_CASE("mpi: 20 GPT steps on 2 ranks equal 1 rank with the global batch") {
  // The reference runs on this rank alone (no communication), from rank 0's initial weights.
  Generator g0(1);
  nn::GPT reference(tiny_gpt(), g0);
  const std::vector<double> want = train(reference, 20, 4, nullptr);

  // Each rank starts from other weights; DataParallel broadcasts rank 0's.
  Generator g(comm().rank() == 0 ? 1 : 99);
  nn::GPT model(tiny_gpt(), g);
  DataParallel ddp(comm(), model.parameters(), {.bucket_bytes = 4096});
  CHECK(ddp.stats().buckets > 1);
  const std::vector<double> got = train(model, 20, 4, &ddp);
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  CHECK(max_diff(model.parameters(), reference.parameters()) < 1e-5);
  CHECK(ddp.stats().started_in_backward == 20 * ddp.stats().buckets);  // every bucket overlapped backward
  // And the ranks hold the same weights.
  for (const Var& p : model.parameters()) {
    const Tensor both = comm().all_gather(p.value().contiguous());
    CHECK(max(abs(sub(both.select(0, 0), both.select(0, 1)))).item() == 0);
  }
}

TEST_CASE("mpi: bucketed, per-parameter and non-overlapped all-reduce give the same weights") {
  std::vector<std::vector<Var>> finals;
  for (const dist::DataParallelOptions options :
       {dist::DataParallelOptions{.bucket_bytes = 2048}, dist::DataParallelOptions{.bucket_bytes = 0},
        dist::DataParallelOptions{.bucket_bytes = int64_t(1) << 20, .overlap = false}}) {
    Generator g(7 + uint64_t(comm().rank()));
    auto model = std::make_shared<nn::GPT>(tiny_gpt(), g);
    DataParallel ddp(comm(), model->parameters(), options);
    train(*model, 5, 4, &ddp);
    finals.push_back(model->parameters());
  }
  CHECK(max_diff(finals[0], finals[1]) <= 1e-7);
  CHECK(max_diff(finals[0], finals[2]) <= 1e-7);
}

TEST_CASE("mpi: PPO with averaged gradients keeps the ranks' policies identical") {
  rl::PPOArgs a;
  a.total_timesteps = 3 * a.num_envs * a.num_steps;  // three rollouts and updates per rank
  a.eval_episodes = 4;
  a.progress_seconds = 0;
  a.communicator = &comm();
  const rl::TrainResult r = rl::train_ppo(a);
  // The same greedy policy on the same evaluation seeds gives the same returns on both ranks.
  const Tensor evals = comm().all_gather(from_vector(r.final_eval_episode_returns));
  CHECK(evals.select(0, 0).to_vector<double>() == evals.select(0, 1).to_vector<double>());
  // While each rank collected its own rollouts.
  const Tensor first = comm().all_gather(tensor({r.episode_returns.front().second}, {}, DType::f64));
  const Tensor count = comm().all_gather(tensor({double(r.episode_returns.size())}, {}, DType::f64));
  CHECK((first.to_vector<double>()[0] != first.to_vector<double>()[1] ||
         count.to_vector<double>()[0] != count.to_vector<double>()[1]));
}

namespace {

namespace pref = envs::preference;

// Pairs "a good NOUN ." over "a bad NOUN ." to random prompts, alike on every rank.
std::vector<pref::PreferencePair> good_bad_pairs(int64_t n) {
  Generator gen(4);
  const auto nouns = pref::words_of(pref::WordClass::noun);
  std::vector<pref::PreferencePair> pairs;
  for (int64_t i = 0; i < n; ++i) {
    pref::PreferencePair p;
    p.prompt = pref::sample_prompt(pref::Family::show, gen);
    const std::string noun = pref::word(nouns[size_t(pref::uniform_int(int64_t(nouns.size()), gen))]);
    p.chosen = test::pad("a good " + noun + " .");
    p.rejected = test::pad("a bad " + noun + " .");
    pairs.push_back(p);
  }
  return pairs;
}

nn::GPTConfig pref_gpt() { return {.vocab = pref::vocab_size(), .context = 16, .d_model = 16, .heads = 2, .layers = 1}; }

}  // namespace

TEST_CASE("mpi: reward-model training on 2 ranks equals 1 rank (minibatches split unevenly)") {
  const auto pairs = good_bad_pairs(45);  // minibatches of 16, 16 and 13 pairs
  const alignment::RewardTrainConfig config{.epochs = 3, .batch_size = 16, .lr = 3e-3};
  Generator g1(11), s1(5);
  alignment::RewardModel one(pref_gpt(), g1);
  const auto want = alignment::train_reward_model(one, pairs, config, s1);
  Generator g2(comm().rank() == 0 ? 11 : 12), s2(5);  // rank 1 starts elsewhere: rank 0's weights are broadcast
  alignment::RewardModel two(pref_gpt(), g2);
  alignment::RewardTrainConfig dist_config = config;
  dist_config.communicator = &comm();
  const auto got = alignment::train_reward_model(two, pairs, dist_config, s2);
  for (size_t e = 0; e < want.loss.size(); ++e) {
    CHECK(got.loss[e] == doctest::Approx(want.loss[e]).epsilon(1e-5));
    CHECK(got.label_accuracy[e] == want.label_accuracy[e]);
  }
  // The same function (AdamW: the weights may differ along the attention key bias, whose
  // gradient is zero but for rounding, and to which the outputs are blind).
  std::vector<pref::Tokens> x, y;
  for (const auto& p : pairs) x.push_back(p.prompt), y.push_back(p.rejected);
  const std::vector<double> a = two.score(x, y), b = one.score(x, y);
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-4));
}

TEST_CASE("mpi: SFT on 2 ranks equals 1 rank (rows weighted by their response tokens)") {
  const auto pairs = good_bad_pairs(30);
  std::vector<pref::Sequence> corpus;
  for (const auto& p : pairs) corpus.push_back({p.prompt, p.chosen});
  const auto nouns = pref::words_of(pref::WordClass::noun);
  const std::string longer = "a good " + pref::word(nouns[0]) + " a good " + pref::word(nouns[1]) + " .";
  corpus.push_back({pairs[0].prompt, test::pad(longer)});  // a longer response
  const alignment::SFTConfig config{.steps = 8, .batch_size = 7, .lr = 3e-3};
  Generator g1(21), s1(6);
  nn::GPT one(pref_gpt(), g1);
  const auto want = alignment::train_sft(one, corpus, config, s1);
  Generator g2(comm().rank() == 0 ? 21 : 22), s2(6);
  nn::GPT two(pref_gpt(), g2);
  alignment::SFTConfig dist_config = config;
  dist_config.communicator = &comm();
  const auto got = alignment::train_sft(two, corpus, dist_config, s2);
  for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-5));
  const Tensor probe = randint(0, pref::vocab_size(), {4, 12}, g1);  // the same function
  CHECK(max(abs(sub(two(probe).value(), one(probe).value()))).item() < 1e-4);
}

TEST_CASE("scenario: rank 1 throws" * doctest::skip()) {
  try {
    if (comm().rank() == 1) GL_CHECK(false, "deliberate failure on rank 1 before the all-reduce");
    Tensor t = zeros({4});
    comm().all_reduce(t);
  } catch (const std::exception& e) {
    comm().abort(e.what());
  }
}

TEST_CASE("scenario: rank 1 stalls past the timeout" * doctest::skip()) {
  try {
    if (comm().rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(60));
    Tensor t = zeros({4});
    comm().all_reduce(t);
  } catch (const std::exception& e) {
    comm().abort(e.what());
  }
}
