// The common form of a paper's comparative claim: "method A beats method B on
// a metric" judged by the paired-interval verdict rule (experiment.h,
// paired_verdict) over the per-seed differences A - B, recorded with the
// per-seed differences and both methods' means in the result text.
#pragma once

#include <string>

#include "bench/common/experiment.h"

namespace gradlab::bench {

// Higher is better: pass the methods the other way round for a "lower is better" claim.
void paired_claim(Experiment& ex, const std::string& text, const std::string& a, const std::string& b,
                  const std::string& metric);

// A metric's per-seed values of one method as "0.812, 0.790, ..." (3 decimals), for a claim's result text.
std::string seed_values(const Experiment& ex, const std::string& method, const std::string& metric);

}  // namespace gradlab::bench
