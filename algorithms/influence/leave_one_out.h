// Ground truth by retraining. For each example m of `rows`, starting every
// time from the same saved parameters theta_0: retrain without m, evaluate
// the query loss; and once with every row, by the same procedure, as the
// baseline:
//
//   score(m) = L_q(theta_{-m}) - L_q(theta_all)   (~ influence score(m) / N)
//
// positive when leaving z_m out raises the query loss, i.e. z_m pushed the
// model toward the query (influence.h's sign). Warm-started retraining from
// the trained parameters measures the local effect that influence functions
// predict; subtracting the baseline cancels what the procedure itself moves.
// Cost: |rows| + 1 retrainings.
#pragma once

#include <functional>

#include "algorithms/influence/influence.h"

namespace gradlab::influence {

// Trains problem.params in place, from their current values, on the rows
// `keep` only (deterministically, so that differences are due to the row left out).
using Retrain = std::function<void(const std::vector<int64_t>& keep)>;
// Called after each retraining with (done, total), the baseline included.
using Progress = std::function<void(int64_t done, int64_t total)>;

// [k] f64, one entry per element of rows. The parameters hold their starting
// values again afterwards (also when retrain or the query throws).
Tensor leave_one_out(const Problem& problem, const Retrain& retrain, const QueryLoss& query,
                     const std::vector<int64_t>& rows, const Progress& progress = {});

}  // namespace gradlab::influence
