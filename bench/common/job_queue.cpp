// Longest-expected-first ordering of an experiment's jobs. See job_queue.h.
#include "bench/common/job_queue.h"

#include "tensor/error.h"

namespace gradlab::bench {

JobQueue::JobQueue(std::vector<Job> jobs)
    : jobs_(std::move(jobs)), started_(jobs_.size(), false), done_(jobs_.size(), false) {}

std::optional<double> JobQueue::estimate(size_t index) const {
  GL_CHECK(index < jobs_.size(), "JobQueue::estimate: job {} of {}", index, jobs_.size());
  const auto it = by_method_.find(jobs_[index].method);
  if (it == by_method_.end()) return std::nullopt;
  return it->second.mean();
}

std::optional<size_t> JobQueue::next() {
  // Preparations first, in order: the runs of their seed wait for them.
  for (size_t j = 0; j < jobs_.size(); ++j)
    if (!started_[j] && jobs_[j].prepare) return take(j);
  // Then one run of each method not yet tried, in registration order, so that its time becomes known.
  for (size_t j = 0; j < jobs_.size(); ++j)
    if (!started_[j] && !method_started_[jobs_[j].method]) return take(j);
  // Then the longest expected; a method whose first run is still going counts as average.
  const double unknown = runs_.count > 0 ? runs_.mean() : 0.0;
  std::optional<size_t> best;
  double best_seconds = -1;
  for (size_t j = 0; j < jobs_.size(); ++j) {
    if (started_[j]) continue;
    const double s = estimate(j).value_or(unknown);
    if (s > best_seconds) {  // ties: the earlier job
      best = j;
      best_seconds = s;
    }
  }
  if (!best) return std::nullopt;
  return take(*best);
}

size_t JobQueue::take(size_t index) {
  started_[index] = true;
  method_started_[jobs_[index].method] = true;
  return index;
}

void JobQueue::finished(size_t index, double seconds) {
  GL_CHECK(index < jobs_.size() && started_[index] && !done_[index],
           "JobQueue::finished: job {} of {} was not started, or finished already", index, jobs_.size());
  done_[index] = true;
  for (Times* t : {&by_method_[jobs_[index].method], &all_}) t->add(seconds);
  if (!jobs_[index].prepare) runs_.add(seconds);
}

double JobQueue::seconds_left() const {
  const double any = all_.count > 0 ? all_.mean() : 0.0;
  const double run = runs_.count > 0 ? runs_.mean() : any;
  double left = 0;
  for (size_t j = 0; j < jobs_.size(); ++j)
    if (!done_[j]) left += estimate(j).value_or(jobs_[j].prepare ? any : run);
  return left;
}

}  // namespace gradlab::bench
