// The order an experiment's workers take its jobs in (bench/common/job_queue.h):
// preparations first, each method's first run in registration order, then the
// longest expected run; and the estimate of the seconds left.
#include <doctest/doctest.h>

#include "bench/common/job_queue.h"
#include "tensor/error.h"

using namespace gradlab;
using namespace gradlab::bench;

namespace {

// Two seeds of a preparation, then seed-major runs of methods a, b, c (the
// list Experiment::run builds): 0-1 prepare, 2-4 seed 1 (a b c), 5-7 seed 2.
JobQueue three_methods_two_seeds() {
  return JobQueue({{"prepare:x", true},
                   {"prepare:x", true},
                   {"a", false},
                   {"b", false},
                   {"c", false},
                   {"a", false},
                   {"b", false},
                   {"c", false}});
}

}  // namespace

TEST_CASE("preparations first, then each method's first run in registration order") {
  JobQueue q = three_methods_two_seeds();
  CHECK(q.next() == 0u);
  CHECK(q.next() == 1u);
  CHECK(q.next() == 2u);
  CHECK(q.next() == 3u);
  CHECK(q.next() == 4u);
}

TEST_CASE("after the first runs, the longest expected run starts first") {
  JobQueue q = three_methods_two_seeds();
  for (size_t j = 0; j < 5; ++j) REQUIRE(q.next() == j);
  q.finished(0, 5.0);
  q.finished(1, 7.0);
  q.finished(2, 1.0);     // a: 1 s
  q.finished(3, 30.0);    // b: 30 s
  q.finished(4, 4.0);     // c: 4 s
  CHECK(q.next() == 6u);  // b's second seed
  CHECK(q.next() == 7u);  // c
  CHECK(q.next() == 5u);  // a
  CHECK_FALSE(q.next().has_value());
}

TEST_CASE("a method whose first run is still going counts as an average run; ties keep the job order") {
  JobQueue q = three_methods_two_seeds();
  for (size_t j = 0; j < 5; ++j) REQUIRE(q.next() == j);
  q.finished(2, 2.0);  // a: 2 s
  q.finished(4, 6.0);  // c: 6 s; b (job 3) still going counts as the mean, 4 s
  CHECK(q.next() == 7u);
  CHECK(q.next() == 6u);
  CHECK(q.next() == 5u);
}

TEST_CASE("equal estimates start in the order the jobs were listed") {
  JobQueue q({{"a", false}, {"b", false}, {"a", false}, {"b", false}});
  REQUIRE(q.next() == 0u);
  REQUIRE(q.next() == 1u);
  q.finished(0, 3.0);
  q.finished(1, 3.0);
  CHECK(q.next() == 2u);
  CHECK(q.next() == 3u);
}

TEST_CASE("the estimate of the seconds left, by method where known") {
  JobQueue q = three_methods_two_seeds();
  CHECK(q.seconds_left() == 0.0);  // nothing measured yet
  for (size_t j = 0; j < 5; ++j) REQUIRE(q.next() == j);
  CHECK_FALSE(q.estimate(2).has_value());
  q.finished(0, 4.0);
  // 1 preparation at the preparations' mean (4) + 6 runs at the mean of all jobs (no run finished: 4)
  CHECK(q.seconds_left() == doctest::Approx(4.0 + 6 * 4.0));
  q.finished(1, 6.0);
  q.finished(2, 1.0);
  q.finished(3, 10.0);
  REQUIRE(q.estimate(5) == 1.0);
  // c's first run (job 4, still going) and second run at the runs' mean 5.5; a 1; b 10
  CHECK(q.seconds_left() == doctest::Approx(5.5 + 1.0 + 10.0 + 5.5));
}

TEST_CASE("finishing a job not started, or twice, is an error naming the job") {
  JobQueue q = three_methods_two_seeds();
  CHECK_THROWS_WITH_AS(q.finished(0, 1.0), doctest::Contains("JobQueue::finished: job 0 of 8 was not started"), Error);
  REQUIRE(q.next() == 0u);
  q.finished(0, 1.0);
  CHECK_THROWS_WITH_AS(q.finished(0, 1.0), doctest::Contains("finished already"), Error);
  CHECK_THROWS_WITH_AS(q.estimate(8), doctest::Contains("JobQueue::estimate: job 8 of 8"), Error);
}
