// dist/ in one process: the single backend's collectives, the factory's
// errors, the sampler's shards (several ranks simulated in one process) and
// DataParallel's buckets and gradients with a world of one. The 2-process
// checks are in tests/dist_ranks.cpp (run under mpirun by tests/check_dist.sh).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "autograd/ops.h"
#include "dist/communicator.h"
#include "dist/data_parallel.h"
#include "dist/sampler.h"
#include "nn/gpt.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::dist;

TEST_CASE("single backend: rank 0 of 1, collectives leave tensors as they are") {
  auto comm = make_communicator("single");
  CHECK(comm->backend() == "single");
  CHECK(comm->rank() == 0);
  CHECK(comm->world_size() == 1);
  Tensor t = tensor({1, 2, 3});
  comm->all_reduce(t, dist::ReduceOp::sum);
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3});
  comm->all_reduce(t, dist::ReduceOp::mean);
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3});
  comm->broadcast(t, 0);
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3});
  const Tensor g = comm->all_gather(tensor({4, 5}, {1, 2}));
  CHECK(g.shape() == Shape{1, 1, 2});
  CHECK(g.to_vector<float>() == std::vector<float>{4, 5});
  comm->barrier();
  comm->all_reduce_async(t)->wait();
}

TEST_CASE("collectives reject bad arguments with the op named") {
  auto comm = make_communicator("single");
  Tensor strided = zeros({3, 4}).mT();
  CHECK_THROWS_WITH_AS(comm->all_reduce(strided), doctest::Contains("all_reduce: the tensor must be contiguous"),
                       Error);
  Tensor ints = zeros({3}, DType::i64);
  CHECK_THROWS_WITH_AS(comm->all_reduce(ints, dist::ReduceOp::mean), doctest::Contains("mean of an i64"), Error);
  Tensor bools = zeros({3}, DType::b8);
  CHECK_THROWS_WITH_AS(comm->broadcast(bools), doctest::Contains("broadcast: dtype b8"), Error);
  Tensor t = zeros({2});
  CHECK_THROWS_WITH_AS(comm->broadcast(t, 1), doctest::Contains("root 1 is not a rank of a world of 1"), Error);
}

TEST_CASE("make_communicator: unknown names and missing backends are clear errors") {
  CHECK_THROWS_WITH_AS(make_communicator("gloo"), doctest::Contains("unknown backend 'gloo'"), Error);
  if (!built_with_nccl())
    CHECK_THROWS_WITH_AS(make_communicator("nccl"), doctest::Contains("nccl backend needs a CUDA build"), Error);
  if (!built_with_mpi())
    CHECK_THROWS_WITH_AS(make_communicator("mpi"), doctest::Contains("built without MPI"), Error);
}

TEST_CASE("DistributedSampler: every example once per epoch over the ranks, reshuffled per epoch") {
  for (const int64_t n : {12, 13, 14}) {
    const int world = 3;
    for (const int64_t epoch : {0, 1, 5}) {
      std::vector<int64_t> all;
      std::vector<int64_t> sizes;
      for (int r = 0; r < world; ++r) {
        const DistributedSampler s(n, r, world, 42);
        const std::vector<int64_t> mine = s.indices(epoch);
        CHECK(int64_t(mine.size()) == s.shard_size());
        CHECK(s.shard_size() >= s.min_shard_size());
        sizes.push_back(int64_t(mine.size()));
        all.insert(all.end(), mine.begin(), mine.end());
      }
      std::sort(all.begin(), all.end());
      std::vector<int64_t> expect(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) expect[size_t(i)] = i;
      CHECK(all == expect);  // exactly once
      CHECK(*std::max_element(sizes.begin(), sizes.end()) - *std::min_element(sizes.begin(), sizes.end()) <= 1);
    }
  }
  const DistributedSampler s(100, 0, 2, 7);
  CHECK(s.indices(0) != s.indices(1));                    // a new order each epoch
  CHECK(s.indices(3) == DistributedSampler(100, 0, 2, 7).indices(3));  // the same on every rank
  CHECK(DistributedSampler(6, 1, 2, 0, false).indices(0) == std::vector<int64_t>{1, 3, 5});
  CHECK_THROWS_WITH_AS(DistributedSampler(10, 2, 2, 0), doctest::Contains("rank 2 is not a rank"), Error);
  CHECK_THROWS_WITH_AS(DistributedSampler(1, 0, 2, 0), doctest::Contains("1 examples cannot give each of 2"), Error);
}

namespace {

nn::GPTConfig tiny_gpt() { return {.vocab = 11, .context = 8, .d_model = 16, .heads = 2, .layers = 1}; }

std::pair<Tensor, Tensor> tokens(int64_t B, uint64_t seed) {
  Generator gen(seed);
  const Tensor seq = randint(0, 11, {B, 9}, gen);
  return {seq.narrow(1, 0, 8).contiguous(), seq.narrow(1, 1, 8).contiguous()};
}

}  // namespace

TEST_CASE("DataParallel with one rank: the gradients are the local ones; buckets follow backward order") {
  Generator gen(1);
  nn::GPT model(tiny_gpt(), gen);
  const std::vector<Var> params = model.parameters();
  auto comm = make_communicator("single");
  const auto [x, y] = tokens(3, 5);

  // The reference: plain backward.
  cross_entropy(model(x), y).backward();
  std::vector<Tensor> want;
  for (const Var& p : params) want.push_back(p.grad().clone()), p.zero_grad();

  for (const int64_t bucket_bytes : {int64_t(0), int64_t(2048), int64_t(1) << 20}) {
    for (const bool overlap : {true, false}) {
      CAPTURE(bucket_bytes);
      CAPTURE(overlap);
      DataParallel ddp(*comm, params, {.bucket_bytes = bucket_bytes, .overlap = overlap});
      const auto layout = ddp.bucket_layout();
      if (bucket_bytes == 0) CHECK(layout.size() == params.size());
      if (bucket_bytes == (int64_t(1) << 20)) CHECK(layout.size() == 1);
      CHECK(layout.front().front() == params.size() - 1);  // the last parameter first
      for (int step = 0; step < 2; ++step) {
        for (const Var& p : params) p.zero_grad();
        cross_entropy(model(x), y).backward();
        ddp.synchronize();
        for (size_t k = 0; k < params.size(); ++k) CHECK(max(abs(sub(params[k].grad(), want[k]))).item() == 0);
      }
      CHECK(ddp.stats().steps == 2);
      if (overlap) CHECK(ddp.stats().started_in_backward == 2 * int64_t(layout.size()));
      if (!overlap) CHECK(ddp.stats().started_in_backward == 0);
    }
  }
  for (const Var& p : params) p.zero_grad();
}

TEST_CASE("DataParallel: a parameter backward never reached gets a zero gradient; grads accumulate onto earlier ones") {
  Var a = Var::leaf(tensor({1, 2})), b = Var::leaf(tensor({3}));
  auto comm = make_communicator("single");
  DataParallel ddp(*comm, {a, b}, {.bucket_bytes = 0});
  sum(mul(a, a)).backward();  // b unused
  ddp.synchronize();
  CHECK(a.grad().to_vector<float>() == std::vector<float>{2, 4});
  REQUIRE(b.grad().defined());
  CHECK(b.grad().to_vector<float>() == std::vector<float>{0});
  sum(a).backward();  // no zero_grad: added to the grad from before
  ddp.synchronize();
  CHECK(a.grad().to_vector<float>() == std::vector<float>{3, 5});
}

TEST_CASE("DataParallel rejects what it cannot reduce") {
  auto comm = make_communicator("single");
  CHECK_THROWS_WITH_AS(DataParallel(*comm, {}), doctest::Contains("no parameters"), Error);
  Var made = Var::leaf(tensor({1.0})) * 2.0;
  CHECK_THROWS_WITH_AS(DataParallel(*comm, {made}), doctest::Contains("not a leaf"), Error);
  CHECK_THROWS_WITH_AS(DataParallel(*comm, {Var::leaf(tensor({1.0}))}, {.bucket_bytes = -1}),
                       doctest::Contains("bucket_bytes must be >= 0"), Error);
}
