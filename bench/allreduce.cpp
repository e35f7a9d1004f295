// build/bench/allreduce: the time of one all-reduce (sum, f32) against the
// message size, on whatever ranks the job has, and the latency and bandwidth
// fitted to it: t(bytes) ~ alpha + bytes / beta (what the scaling model of
// dist/README.md needs). Run it under mpirun; alone it measures the single-
// process backend, which only copies nothing.
//   mpirun -np 2 build/bench/allreduce --jsonl out.jsonl
//   build/bench/allreduce --sizes 4096,1048576 --reps 50
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "bench/common/bench.h"
#include "bench/common/cli.h"
#include "dist/communicator.h"
#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/parallel.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

struct Args {
  std::string sizes = "4096,65536,1048576,8388608,33554432";
  int64_t reps = 20;
  std::string dist_backend = "auto";
  int64_t threads = 1, seed = 0;
  std::string jsonl;
  bool smoke = false;
};

}  // namespace

int main(int argc, char** argv) {
  Cli cli("allreduce", "time of one all-reduce against the message size, over the ranks of an mpirun job");
  Args args;
  cli.bind(args.sizes, "--sizes", "message sizes in bytes");
  cli.bind(args.reps, "--reps", "timed all-reduces per size (the median is reported)", {1, INT64_MAX});
  cli.bind(args.dist_backend, "--dist-backend", "auto (mpi under mpirun, else single), mpi, single");
  cli.bind(args.threads, "--threads", "OpenMP threads per rank", kThreadBounds);
  cli.bind(args.seed, "--seed", "unused: the messages are constant", {0, INT64_MAX});
  cli.bind(args.jsonl, "--jsonl", "append one JSON object per size to this file (rank 0 writes)");
  cli.bind_flag(args.smoke, "--smoke", "two small sizes, 2 repetitions");
  cli.parse(argc, argv);
  std::unique_ptr<dist::Communicator> comm;
  try {
    set_num_threads(int(args.threads));
    args.sizes = cli.budget_default<std::string>(args.smoke, "--sizes", args.sizes, "4096,65536");
    args.reps = cli.budget_default<int64_t>(args.smoke, "--reps", args.reps, 2);
    const std::vector<int64_t> sizes = parse_int_list(args.sizes, "--sizes");
    for (const int64_t b : sizes) GL_CHECK(b >= 4 && b % 4 == 0, "--sizes: {} is not a positive multiple of 4 bytes", b);
    comm = dist::make_communicator(args.dist_backend);
    const int rank = comm->rank(), world = comm->world_size();
    const bool lead = rank == 0;
    if (lead)
      std::printf("all-reduce (sum, f32) over %d rank(s), backend %s, %lld repetitions per size\n", world,
                  comm->backend().c_str(), (long long)args.reps);
    Table table({"bytes", "median us", "min us", "algbw GB/s", "busbw GB/s"});
    std::vector<std::pair<double, double>> points;  // (bytes, seconds)
    Jsonl out(lead ? args.jsonl : std::string());
    for (const int64_t bytes : sizes) {
      Tensor t = full({bytes / 4}, 1.0);
      comm->all_reduce(t);  // warm-up (and the cross-rank size check)
      std::vector<double> times;
      for (int64_t r = 0; r < args.reps; ++r) {
        comm->barrier();
        const auto t0 = std::chrono::steady_clock::now();
        comm->all_reduce_async(t)->wait();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      // The slowest rank sets the time of a collective.
      Tensor slowest = from_vector(times);
      comm->all_reduce(slowest, dist::ReduceOp::max);
      times = slowest.to_vector<double>();
      std::sort(times.begin(), times.end());
      const double median = times[times.size() / 2], fastest = times.front();
      points.emplace_back(double(bytes), median);
      const double algbw = double(bytes) / median / 1e9;
      const double busbw = algbw * (world > 1 ? 2.0 * (world - 1) / world : 0.0);
      table.row({std::to_string(bytes), fmt::format("{:.1f}", median * 1e6), fmt::format("{:.1f}", fastest * 1e6),
                 fmt::format("{:.2f}", algbw), fmt::format("{:.2f}", busbw)});
      Jsonl::Record rec{.bench = "allreduce",
                        .case_name = fmt::format("{}B", bytes),
                        .metric = "seconds",
                        .value = median,
                        .unit = "s",
                        .threads = int(args.threads)};
      rec.extra["backend"] = comm->backend();
      rec.numbers["ranks"] = world;
      rec.numbers["bytes"] = double(bytes);
      rec.numbers["busbw_GBps"] = busbw;
      out.write(rec);
    }
    if (lead) {
      std::fputs(table.str().c_str(), stdout);
      // Least squares of t = alpha + bytes / beta over the sizes measured.
      if (points.size() >= 2) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (const auto& [x, y] : points) sx += x, sy += y, sxx += x * x, sxy += x * y;
        const double n = double(points.size());
        const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx), alpha = (sy - slope * sx) / n;
        std::printf("fit t = alpha + bytes / beta: alpha = %.1f us, beta = %.2f GB/s (algorithmic)\n", alpha * 1e6,
                    slope > 0 ? 1e-9 / slope : 0.0);
      }
    }
  } catch (const std::exception& e) {
    if (comm && comm->world_size() > 1) comm->abort(fmt::format("allreduce: {}", e.what()));
    std::fprintf(stderr, "allreduce: %s\n", e.what());
    return 1;
  }
  return 0;
}
