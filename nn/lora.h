// LoRALinear: a frozen Linear plus low-rank adapters, y = base(x) + (alpha/r)
// B A dropout(x), with A [r, in] small random and B [out, r] zero, so training
// starts from the base model. merge() folds B A into the base weight for
// inference and unmerge() takes it out again. With K adapters on one base
// (reward ensembles), one call evaluates every member: the base product is
// computed once and the K low-rank paths as batched matmuls.
#pragma once

#include "nn/layers.h"

namespace gradlab::nn {

// How A starts (B always starts at zero).
enum class LoRAInit {
  fan_in_uniform,  // U(-1/sqrt(in), 1/sqrt(in)), as nn::Linear's weights
  gaussian,        // N(0, (1/r)^2)
};
LoRAInit lora_init_from_string(const std::string& name);  // "uniform" or "gaussian"
const char* lora_init_name(LoRAInit init);

struct LoRAOptions {
  int64_t rank = 8;
  double alpha = 16.0;
  double dropout = 0.0;
  int64_t adapters = 1;  // K
  uint64_t seed = 0;     // dropout stream
  LoRAInit init = LoRAInit::fan_in_uniform;
};

class LoRALinear : public Module {
 public:
  // Wraps `base` (its parameters are frozen).
  LoRALinear(std::shared_ptr<Linear> base, Generator& gen, LoRAOptions options = {});

  // With one adapter: x [.., in] -> [.., out]. With K adapters: x [.., in]
  // (shared by all members) or, with members_first, x [K, .., in] (member k's
  // own input) -> [K, .., out].
  Var forward(const Var& x, bool members_first = false) const;
  Var operator()(const Var& x) const { return forward(x); }

  void merge();    // one adapter only: W += (alpha/r) B A
  void unmerge();  // W -= (alpha/r) B A
  bool merged() const { return merged_; }
  double scale() const { return options_.alpha / double(options_.rank); }
  int64_t adapters() const { return options_.adapters; }

  std::shared_ptr<Linear> base;
  Var A;  // [K, r, in]
  Var B;  // [K, out, r]

 private:
  LoRAOptions options_;
  std::shared_ptr<Dropout> dropout_;
  bool merged_ = false;
};

}  // namespace gradlab::nn
