// The CUDA backend's error paths. Without a GPU (every CI machine), asking for
// a CUDA tensor must raise a clear gradlab::Error, in a CUDA build and in a
// build without CUDA alike; with a GPU, bad indices and targets found inside
// kernels are raised on the host with the CPU's messages at the next check
// (tensor/backend.h: check_pending_errors), and the caching
// device allocator counts what it hands out.
#include <doctest/doctest.h>

#include "tests/error_of.h"

#include <functional>
#include <string>

#include "tensor/allocator.h"
#include "tensor/backend.h"
#include "tensor/fused_losses.h"
#include "tests/cuda/cuda_check.h"

using namespace gradlab;
using gradlab::test::error_of;
using cuda_test::gpu;

TEST_CASE("a CUDA tensor without a GPU raises a clear error") {
  if (cuda_test::have_gpu()) {
    MESSAGE("a GPU is present: the no-GPU error path is not exercised here");
    return;
  }
  const std::string expected = cuda_built() ? "no GPU is present" : "built without CUDA";
  const std::string e1 = error_of([] { Tensor::empty({2, 3}, DType::f32, Device::cuda); });
  CHECK_MESSAGE(e1.find(expected) != std::string::npos, "got: ", e1);
  const std::string e2 = error_of([] { ones({4}).to(Device::cuda); });
  CHECK_MESSAGE(e2.find(expected) != std::string::npos, "got: ", e2);
  const std::string e3 = error_of([] { zeros({4}, DType::f32, Device::cuda); });
  CHECK_MESSAGE(e3.find(expected) != std::string::npos, "got: ", e3);
  const std::string e4 = error_of([] { backend(Device::cuda); });
  CHECK_MESSAGE(e4.find(expected) != std::string::npos, "got: ", e4);
  Generator gen(1);
  const std::string e5 = error_of([&] { randn({3}, gen, DType::f32, Device::cuda); });
  CHECK_MESSAGE(e5.find(expected) != std::string::npos, "got: ", e5);
  // The CPU path is untouched.
  CHECK(sum(ones({3})).item() == 3.0);
  CHECK_FALSE(cuda_available());
  MESSAGE("skipped: no CUDA device (checked the clear error instead)");
}

TEST_CASE("the CUDA table has every kernel of the list") {
  REQUIRE_GPU_OR_SKIP();
  const Backend& c = backend(Device::cuda);
  CHECK(c.name == "cuda");
  CHECK_FALSE(c.host_memory);
#define GL_CHECK_CUDA_KERNEL(k) CHECK_MESSAGE((c.k != nullptr), "no CUDA kernel ", #k);
  GL_KERNEL_LIST(GL_CHECK_CUDA_KERNEL)
#undef GL_CHECK_CUDA_KERNEL
}

TEST_CASE("bad indices and targets inside CUDA kernels raise the CPU's errors, at the next check") {
  REQUIRE_GPU_OR_SKIP();
  const Tensor x = gpu(arange(0, 12, 1, DType::f32).view({3, 4}));
  // The launch does not wait: the error comes at check_pending_errors() (or the next copy to the host).
  const std::string e1 = error_of([&] {
    index_select(x, 0, gpu(from_vector<int64_t>({0, 5}, {2})));
    check_pending_errors();
  });
  CHECK_MESSAGE(e1.find("index_select: index 5 is out of range") != std::string::npos, "got: ", e1);
  const std::string e2 = error_of([&] {
    const Tensor g = gather(x, 1, gpu(from_vector<int64_t>({0, 1, 2, -9, 0, 0}, {3, 2})));
    g.to(Device::cpu);  // the copy drains the queue and reads the slot
  });
  CHECK_MESSAGE(e2.find("gather: index -9 is out of range") != std::string::npos, "got: ", e2);
  const std::string e3 = error_of([&] {
    cross_entropy_forward(x, gpu(from_vector<int64_t>({0, 7, 1}, {3})));
    check_pending_errors();
  });
  CHECK_MESSAGE(e3.find("target 7 of row 1") != std::string::npos, "got: ", e3);
  // The first report wins, and a label names the caller.
  const std::string e4 = error_of([&] {
    {
      const ErrorLabel label("a test's token ids");
      index_select(x, 0, gpu(from_vector<int64_t>({3}, {1})));
    }
    index_select(x, 0, gpu(from_vector<int64_t>({4}, {1})));
    check_pending_errors();
  });
  CHECK_MESSAGE(e4.find("index 3 is out of range for an axis of size 3") != std::string::npos, "got: ", e4);
  CHECK_MESSAGE(e4.find("[in a test's token ids]") != std::string::npos, "got: ", e4);
  // The error slot is cleared: the next good call works, and nothing is pending.
  CHECK(index_select(x, 0, gpu(from_vector<int64_t>({2}, {1}))).to(Device::cpu).to_vector<float>()[0] == 8.f);
  const TransferCounts before = transfer_counts();
  check_pending_errors();
  CHECK(transfer_counts().to_host == before.to_host);  // nothing to read
  // Device mismatches are refused by the op entries.
  const std::string e5 = error_of([&] { add(x, ones({3, 4})); });
  CHECK_MESSAGE(e5.find("different devices") != std::string::npos, "got: ", e5);
}

TEST_CASE("the caching device allocator reuses blocks and counts the peak") {
  REQUIRE_GPU_OR_SKIP();
  empty_cache(Device::cuda);
  reset_peak_memory(Device::cuda);
  const MemoryStats before = memory_stats(Device::cuda);
  {
    const Tensor a = Tensor::empty({1 << 20}, DType::f32, Device::cuda);  // 4 MiB
    const MemoryStats during = memory_stats(Device::cuda);
    CHECK(during.in_use_bytes - before.in_use_bytes == int64_t(allocation_bucket(4 << 20)));
    CHECK(during.peak_bytes >= during.in_use_bytes);
  }
  const MemoryStats after = memory_stats(Device::cuda);
  CHECK(after.in_use_bytes == before.in_use_bytes);
  CHECK(after.cached_bytes >= int64_t(allocation_bucket(4 << 20)));
  const int64_t hits = after.cache_hits;
  const Tensor again = Tensor::empty({1 << 20}, DType::f32, Device::cuda);
  CHECK(memory_stats(Device::cuda).cache_hits == hits + 1);
}

TEST_CASE("to(cuda) and to(cpu) round-trip every dtype and strided views") {
  REQUIRE_GPU_OR_SKIP();
  Generator gen(3);
  const Tensor f = randn({5, 7}, gen, DType::f64);
  for (DType dt : {DType::f32, DType::f64, DType::i32, DType::i64, DType::b8}) {
    const Tensor x = f.to(dt);
    const Tensor back = gpu(x).to(Device::cpu);
    CHECK(back.dtype() == dt);
    CHECK(cuda_test::same_values(x, back));
  }
  const Tensor t = f.transpose(0, 1);  // strided: to() copies it contiguous first
  CHECK(gpu(t).shape() == Shape{7, 5});
  CHECK(cuda_test::same_values(gpu(t).to(Device::cpu), t.contiguous()));
  CHECK(cuda_device_name().find("none") == std::string::npos);
}
