// Comparing influence scores: Spearman rank correlation (with an estimator's
// scores against exact influence or leave-one-out), the top k of a ranking,
// and precision and recall at k against a known set (LANCET's recall of the
// contaminated training data).
#pragma once

#include <cstdint>
#include <vector>

namespace gradlab::influence {

// Spearman's rho of two equally long score lists (ties get their average
// rank); throws for fewer than two values or unequal lengths; 0 when either
// list is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);
// The positions of the k largest scores, largest first (ties: lower index first).
std::vector<int64_t> top_k(const std::vector<double>& scores, int64_t k);
// Of the k highest-scored examples (ids[i] scored scores[i]), the fraction in
// `relevant` (precision@k) and the fraction of `relevant` among them (recall@k).
double precision_at_k(const std::vector<double>& scores, const std::vector<int64_t>& ids,
                      const std::vector<int64_t>& relevant, int64_t k);
double recall_at_k(const std::vector<double>& scores, const std::vector<int64_t>& ids,
                   const std::vector<int64_t>& relevant, int64_t k);

}  // namespace gradlab::influence
