// build/bench/elementwise: memory throughput of ops that return a fresh
// result (add, mul, exp, gelu on --n floats, 16M by default; also sigmoid,
// tanh and silu with --ops), against
// PyTorch's allocating ops and, for add, a plain STREAM-like loop compiled
// into this binary that writes into a preallocated array: the bandwidth bound
// an allocating op can approach. GB/s counts every byte read and written.
//   build/bench/elementwise --threads 2 --jsonl out.jsonl
//   build/bench/elementwise --device cuda   # gradlab's ops on the GPU (the references are the CPU's: off)
//   build/bench/elementwise --n 4096 --ops exp,sigmoid,tanh,silu,gelu   # in cache: the arithmetic
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "tensor/allocator.h"
#include "tensor/backend.h"
#include "tensor/ops.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

// The in-binary reference: c = a + b into an existing array, OpenMP static split.
void stream_add(const float* a, const float* b, float* c, int64_t n, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
}

struct Args {
  int64_t n = int64_t(1) << 24;
  int64_t threads = 1;
  int64_t seed = 0;
  int64_t samples = 7;
  std::string ops = "add,mul,exp,gelu";
  std::string jsonl;
  bool no_reference = false;
  bool smoke = false;
  Device device = Device::cpu;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("elementwise", "Throughput of allocating elementwise ops (GB/s) against PyTorch and a STREAM-like loop.");
  Args args;
  cli.bind(args.n, "--n", "elements per tensor", {1, INT64_MAX});
  cli.bind(args.threads, "--threads", "OpenMP threads (both for gradlab and the references)", kThreadBounds);
  cli.bind(args.seed, "--seed", "seed for the inputs", {0, INT64_MAX});
  cli.bind(args.samples, "--samples", "timed samples per op", {1, INT64_MAX});
  cli.bind(args.ops, "--ops", "ops to time");
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per measurement to this file");
  cli.bind_flag(args.no_reference, "--no-reference", "skip the PyTorch reference");
  cli.bind_flag(args.smoke, "--smoke", "a tiny run to check that the binary works (no reference)");
  cli.bind(args.device, "--device", "where the tensors live (the references are the CPU's only)");
  cli.parse(argc, argv);
  try {
    args.n = cli.budget_default<int64_t>(args.smoke, "--n", args.n, 1 << 16);
    args.samples = cli.budget_default<int64_t>(args.smoke, "--samples", args.samples, 1);
    const bool on_cpu = args.device == Device::cpu;
    if (args.smoke || !on_cpu) args.no_reference = true;
    GL_CHECK(args.n > 0, "--n: must be positive, got {}", args.n);
    GL_CHECK(args.threads >= 1, "--threads: must be >= 1, got {}", args.threads);
    const std::vector<std::string> ops = split_list(args.ops);
    const std::vector<std::string> known = {"add", "mul", "exp", "gelu", "sigmoid", "tanh", "silu"};
    for (const std::string& op : ops)
      GL_CHECK(std::find(known.begin(), known.end(), op) != known.end(),
               "--ops: unknown op '{}' (add, mul, exp, gelu, sigmoid, tanh, silu)", op);
    set_num_threads(int(args.threads));
    std::printf("elementwise: %lld floats, %s, %lld thread(s)\n", (long long)args.n,
                std::string(device_name(args.device)).c_str(), (long long)args.threads);

    Generator gen{uint64_t(args.seed)};
    const Tensor a = randn({args.n}, gen).to(args.device), b = randn({args.n}, gen).to(args.device);
    Tensor c = Tensor::empty({args.n});
    const double min_sample = args.smoke ? 0.0 : 0.05;
    const int warmup = args.smoke ? 0 : 2;
    const Backend& be = backend(args.device);
    // A device's queue is drained inside the timed region.
    auto op_fn = [&](const std::string& op) -> std::function<void()> {
      if (op == "add") return [&] { (void)(a + b), be.synchronize(); };
      if (op == "mul") return [&] { (void)(a * b), be.synchronize(); };
      if (op == "exp") return [&] { (void)exp(a), be.synchronize(); };
      if (op == "sigmoid") return [&] { (void)sigmoid(a), be.synchronize(); };
      if (op == "tanh") return [&] { (void)tanh(a), be.synchronize(); };
      if (op == "silu") return [&] { (void)silu(a), be.synchronize(); };
      return [&] { (void)gelu(a), be.synchronize(); };
    };
    // The in-binary loop runs on the CPU's copy of the inputs.
    const Tensor a_host = a.to(Device::cpu), b_host = b.to(Device::cpu);
    auto stream_fn = [&] {
      stream_add(a_host.data<float>(), b_host.data<float>(), c.data<float>(), args.n, int(args.threads));
    };
    // gradlab and the in-binary loop are timed before and after the PyTorch
    // run, and the samples pooled, so a slow spell weighs on all sides alike.
    const int half = std::max(1, int(args.samples + 1) / 2);
    auto time_all = [&] {
      std::map<std::string, Timing> ts;
      for (const std::string& op : ops) ts[op] = time_it(op_fn(op), half, min_sample, warmup);
      ts["stream"] = time_it(stream_fn, half, min_sample, warmup);
      return ts;
    };
    const std::map<std::string, Timing> before = time_all();

    Reference torch;
    if (!args.no_reference) {
      torch = run_reference(
          "bench/pytorch/elementwise.py",
          fmt::format("--n {} --threads {} --ops {} --samples {}", args.n, args.threads, args.ops, args.samples),
          int(args.threads));
      if (!torch.ok)
        std::printf("PyTorch reference skipped: %s (install python3-torch: make bench-deps)\n", torch.why.c_str());
    }
    const std::map<std::string, Timing> after = args.no_reference ? before : time_all();
    auto timing = [&](const std::string& key) {
      return args.no_reference ? before.at(key) : merge(before.at(key), after.at(key));
    };

    Jsonl out(args.jsonl);
    Table table({"op", "GB/s", "min-max", torch.ok ? torch.label : "pytorch", "ratio", "stream add", "ratio"});
    for (const std::string& op : ops) {
      const bool binary = op == "add" || op == "mul";
      const double bytes = double(args.n) * 4.0 * (binary ? 3 : 2);
      const Timing t = timing(op);
      const double gbps = bytes / t.median / 1e9;
      std::vector<std::string> row = {op, fmt::format("{:.1f}", gbps),
                                      fmt::format("{:.1f}-{:.1f}", bytes / t.max / 1e9, bytes / t.min / 1e9)};
      Jsonl::Record rec{.bench = "elementwise",
                        .case_name = op,
                        .metric = "gbps",
                        .value = gbps,
                        .unit = "GB/s",
                        .threads = int(args.threads)};
      rec.extra["n"] = std::to_string(args.n);
      rec.extra["device"] = std::string(device_name(args.device));
      Jsonl::Record stream_rec = rec;
      const std::optional<double> torch_seconds = torch.seconds(op);
      add_comparison(row, rec, gbps, torch_seconds ? std::optional(bytes / *torch_seconds / 1e9) : std::nullopt,
                     torch.label);
      out.write(rec);
      const bool has_stream = op == "add" && on_cpu;  // the loop's bound is the CPU's
      add_comparison(row, stream_rec, gbps,
                     has_stream ? std::optional(bytes / timing("stream").median / 1e9) : std::nullopt,
                     "stream_add_loop");
      if (has_stream) out.write(stream_rec);
      table.row(row);
    }
    std::fputs(table.str().c_str(), stdout);
    const MemoryStats m = memory_stats(args.device);
    std::printf("allocator: %lld of %lld allocations served from the cache\n", (long long)m.cache_hits,
                (long long)m.allocations);
  } catch (const std::exception& e) {  // gradlab::Error, and the library's (filesystem, bad_alloc)
    std::fprintf(stderr, "elementwise: %s\n", e.what());
    return 1;
  }
  return 0;
}
