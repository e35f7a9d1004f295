// DataParallel: gradients bucketed and all-reduced as backward produces them
// (data_parallel.h).
#include "dist/data_parallel.h"

#include <chrono>

#include "tensor/creation.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace gradlab::dist {

struct DataParallel::Bucket {
  std::vector<size_t> params;
  Tensor flat;  // the gradients of `params`, concatenated (contiguous, their dtype)
  size_t ready = 0;
  bool started = false;
  std::unique_ptr<Work> work;
};

DataParallel::DataParallel(Communicator& comm, std::vector<Var> params, DataParallelOptions options)
    : comm_(comm), params_(std::move(params)), options_(options) {
  GL_CHECK(!params_.empty(), "DataParallel: no parameters");
  GL_CHECK(options_.bucket_bytes >= 0, "DataParallel: bucket_bytes must be >= 0, got {}", options_.bucket_bytes);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Var& p = params_[i];
    GL_CHECK(p.defined() && p.is_leaf() && p.requires_grad(),
             "DataParallel: parameter {} is not a leaf that requires a gradient", i);
    GL_CHECK(p.value().device() == Device::cpu || comm_.backend() == "nccl",
             "DataParallel: parameter {} lives on {}, but the {} backend reduces CPU tensors", i, p.value().device(),
             comm_.backend());
    GL_CHECK(is_floating(p.value().dtype()), "DataParallel: parameter {} has dtype {} (floating only)", i,
             p.value().dtype());
  }
  // Every rank must hold the same parameter list: compare each one's layout.
  for (const Var& p : params_) {
    Tensor probe = zeros(p.value().shape(), p.value().dtype(), p.value().device());
    comm_.all_reduce(probe);  // checks shape and dtype across ranks
  }
  if (options_.broadcast_initial)
    for (const Var& p : params_) {
      Tensor value = p.value().contiguous();  // p's own storage when already contiguous
      comm_.broadcast(value, 0);
      if (!p.value().is_contiguous()) Tensor(p.value()).copy_(value);
    }

  // Buckets, in reverse parameter order, split at bucket_bytes and where the dtype changes.
  bucket_of_.assign(params_.size(), 0);
  offset_of_.assign(params_.size(), 0);
  grad_before_.assign(params_.size(), Tensor());
  reached_.assign(params_.size(), false);
  std::vector<std::vector<size_t>> groups;
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const Tensor& v = params_[k].value();
    const int64_t b = v.numel() * int64_t(v.itemsize());
    const bool new_group = groups.empty() || options_.bucket_bytes == 0 ||
                           bytes + b > options_.bucket_bytes ||
                           params_[groups.back().front()].value().dtype() != v.dtype();
    if (new_group) groups.emplace_back(), bytes = 0;
    groups.back().push_back(k);
    bytes += b;
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    auto bucket = std::make_unique<Bucket>();
    bucket->params = groups[g];
    int64_t n = 0;
    for (const size_t k : groups[g]) bucket_of_[k] = g, offset_of_[k] = n, n += params_[k].value().numel();
    const Tensor& first = params_[groups[g].front()].value();
    bucket->flat = zeros({n}, first.dtype(), first.device());
    stats_.bytes_per_step += n * int64_t(first.itemsize());
    buckets_.push_back(std::move(bucket));
  }
  stats_.buckets = int64_t(buckets_.size());

  for (size_t k = 0; k < params_.size(); ++k)
    hook_ids_.push_back(params_[k].register_hook([this, k](const Tensor& grad) {
      on_gradient(k, grad);
      return Tensor();  // the local gradient goes on into grad; synchronize() replaces it
    }));
}

DataParallel::~DataParallel() {
  for (size_t k = 0; k < params_.size(); ++k) params_[k].remove_hook(hook_ids_[k]);
  // Collectives still in flight must finish before their buffers go away.
  for (auto& b : buckets_)
    if (b->work) try {
        b->work->wait();
      } catch (const std::exception&) {
      }
}

void DataParallel::on_gradient(size_t k, const Tensor& grad) {
  Bucket& b = *buckets_[bucket_of_[k]];
  GL_CHECK(!b.started, "DataParallel: parameter {} received a second gradient in one step (one backward per step, "
                       "then synchronize())", k);
  grad_before_[k] = params_[k].grad();  // hooks run before backward adds into grad
  reached_[k] = true;
  const Tensor& v = params_[k].value();
  b.flat.narrow(0, offset_of_[k], v.numel()).view(v.shape()).copy_(grad);
  ++b.ready;
  if (!options_.overlap) return;
  start_ready_buckets();
  // Move the buckets in flight along while backward goes on.
  for (size_t i = 0; i < next_to_start_; ++i)
    if (buckets_[i]->work) buckets_[i]->work->test();
}

void DataParallel::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() &&
         buckets_[next_to_start_]->ready == buckets_[next_to_start_]->params.size())
    start(next_to_start_++, true);
}

void DataParallel::start(size_t index, bool in_backward) {
  Bucket& b = *buckets_[index];
  b.started = true;
  b.work = comm_.all_reduce_async(b.flat, ReduceOp::mean);
  if (in_backward) ++stats_.started_in_backward;
}

void DataParallel::synchronize() {
  const auto t0 = std::chrono::steady_clock::now();
  // The buckets backward did not complete, in index order: a parameter this
  // step's backward never reached contributes the zeros its slice holds.
  for (size_t k = 0; k < params_.size(); ++k)
    if (!reached_[k]) grad_before_[k] = params_[k].grad();
  for (; next_to_start_ < buckets_.size(); ++next_to_start_) start(next_to_start_, false);
  for (auto& b : buckets_) {
    b->work->wait();
    b->work.reset();
  }
  stats_.wait_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (auto& b : buckets_) {
    for (const size_t k : b->params) {
      const Tensor& v = params_[k].value();
      const Tensor mean = b->flat.narrow(0, offset_of_[k], v.numel()).view(v.shape()).clone();
      params_[k].set_grad(grad_before_[k].defined() ? add(grad_before_[k], mean) : mean);
      grad_before_[k] = Tensor();
      reached_[k] = false;
    }
    b->flat.fill_(0.0);
    b->ready = 0;
    b->started = false;
  }
  next_to_start_ = 0;
  ++stats_.steps;
}

std::vector<std::vector<size_t>> DataParallel::bucket_layout() const {
  std::vector<std::vector<size_t>> out;
  for (const auto& b : buckets_) out.push_back(b->params);
  return out;
}

}  // namespace gradlab::dist
