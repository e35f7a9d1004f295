// The order in which an experiment's worker threads take its jobs
// (Experiment::run). Preparations come first, in the order given. Then the
// runs: the first run of each method in registration order (it measures how
// long that method takes), and after that the run expected to take longest,
// judged by the mean wall time of the method's finished runs. Starting the
// long runs early keeps every worker busy to the end instead of leaving one
// long run alone at the tail (longest processing time first). Only the order
// of starting changes: each run depends on its own seed alone, so the results
// are the same in any order.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gradlab::bench {

class JobQueue {
 public:
  struct Job {
    std::string method;  // runs of one method share their time estimate
    bool prepare = false;
  };
  explicit JobQueue(std::vector<Job> jobs);

  // The index of the next job to start, or nothing when every job has started.
  std::optional<size_t> next();
  // Records that job `index` (started by next()) finished after `seconds`.
  void finished(size_t index, double seconds);
  // The seconds the jobs not yet finished should still take in all (a run
  // under way counts its full estimate): a method's mean where known, else
  // the mean of every finished run, else the mean of every finished job.
  double seconds_left() const;

  // A job's expected seconds: its method's mean over finished runs, or
  // nothing before the first one finishes.
  std::optional<double> estimate(size_t index) const;

 private:
  struct Times {
    double sum = 0;
    int count = 0;
    void add(double seconds) {
      sum += seconds;
      ++count;
    }
    double mean() const { return sum / count; }
  };
  std::vector<Job> jobs_;
  std::vector<bool> started_, done_;
  std::map<std::string, Times> by_method_;  // finished runs only
  std::map<std::string, bool> method_started_;
  Times runs_, all_;
  size_t take(size_t index);  // marks job `index` (and its method) started
};

}  // namespace gradlab::bench
