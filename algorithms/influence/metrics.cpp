// Ranking metrics for influence scores. Spearman's rho is Pearson's
// correlation of the ranks, rho = cov(r_a, r_b) / (sd(r_a) sd(r_b)), with tied
// values sharing the mean of the ranks they span; top_k sorts by score
// (largest first, ties by lower position); precision@k = |top k ∩ relevant| / k
// and recall@k = |top k ∩ relevant| / |relevant|.
#include "algorithms/influence/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "tensor/error.h"

namespace gradlab::influence {

namespace {

// Ranks 1..n of the values, ties sharing their average rank.
std::vector<double> average_ranks(const std::vector<double>& values) {
  const size_t n = values.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) { return values[i] < values[j]; });
  std::vector<double> ranks(n);
  for (size_t start = 0; start < n;) {
    size_t end = start + 1;
    while (end < n && values[order[end]] == values[order[start]]) ++end;
    const double shared = 0.5 * double(start + 1 + end);  // the mean of ranks start+1 .. end
    for (size_t k = start; k < end; ++k) ranks[order[k]] = shared;
    start = end;
  }
  return ranks;
}

void check_finite(const std::vector<double>& values, const char* op, const char* which) {
  for (size_t i = 0; i < values.size(); ++i)
    GL_CHECK(std::isfinite(values[i]), "{}: {}[{}] = {} is not finite", op, which, i, values[i]);
}

// How many of the top k of scores have their id in `relevant`.
int64_t hits_at_k(const std::vector<double>& scores, const std::vector<int64_t>& ids,
                  const std::vector<int64_t>& relevant, int64_t k, const char* op) {
  GL_CHECK(scores.size() == ids.size(), "{}: {} scores for {} ids", op, scores.size(), ids.size());
  GL_CHECK(k >= 1 && k <= int64_t(scores.size()), "{}: k = {} must lie in [1, {}] (the number of scores)", op, k,
           scores.size());
  const std::set<int64_t> wanted(relevant.begin(), relevant.end());
  int64_t hits = 0;
  for (int64_t position : top_k(scores, k)) hits += wanted.count(ids[size_t(position)]) ? 1 : 0;
  return hits;
}

}  // namespace

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  GL_CHECK(a.size() == b.size(), "spearman: lists of unequal length ({} and {})", a.size(), b.size());
  GL_CHECK(a.size() >= 2, "spearman: needs at least two values, got {}", a.size());
  check_finite(a, "spearman", "a");
  check_finite(b, "spearman", "b");
  const std::vector<double> ra = average_ranks(a), rb = average_ranks(b);
  const double mean = 0.5 * double(a.size() + 1);  // the mean rank, ties or not
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (va == 0 || vb == 0) return 0;
  return cov / std::sqrt(va * vb);
}

std::vector<int64_t> top_k(const std::vector<double>& scores, int64_t k) {
  GL_CHECK(k >= 0, "top_k: k must be >= 0, got {}", k);
  check_finite(scores, "top_k", "scores");
  std::vector<int64_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t i, int64_t j) { return scores[size_t(i)] > scores[size_t(j)]; });
  order.resize(std::min<size_t>(order.size(), size_t(k)));
  return order;
}

double precision_at_k(const std::vector<double>& scores, const std::vector<int64_t>& ids,
                      const std::vector<int64_t>& relevant, int64_t k) {
  return double(hits_at_k(scores, ids, relevant, k, "precision_at_k")) / double(k);
}

double recall_at_k(const std::vector<double>& scores, const std::vector<int64_t>& ids,
                   const std::vector<int64_t>& relevant, int64_t k) {
  const std::set<int64_t> wanted(relevant.begin(), relevant.end());
  GL_CHECK(!wanted.empty(), "recall_at_k: the relevant set is empty");
  return double(hits_at_k(scores, ids, relevant, k, "recall_at_k")) / double(wanted.size());
}

}  // namespace gradlab::influence
