// LoRALinear.
#include "nn/lora.h"

#include <cmath>

namespace gradlab::nn {

LoRAInit lora_init_from_string(const std::string& name) {
  if (name == "uniform") return LoRAInit::fan_in_uniform;
  if (name == "gaussian") return LoRAInit::gaussian;
  fail("LoRA: unknown init '{}' (uniform, gaussian)", name);
}

const char* lora_init_name(LoRAInit init) { return init == LoRAInit::gaussian ? "gaussian" : "uniform"; }

LoRALinear::LoRALinear(std::shared_ptr<Linear> b, Generator& gen, LoRAOptions o) : base(std::move(b)), options_(o) {
  GL_CHECK(base != nullptr, "LoRALinear: the base Linear is null");
  GL_CHECK(o.rank > 0 && o.adapters > 0, "LoRALinear: rank and adapters must be positive, got {} and {}", o.rank,
           o.adapters);
  const int64_t in = base->in_features(), out = base->out_features();
  register_module("base", base);
  base->freeze();
  const DType dt = base->weight.dtype();
  A = register_parameter("A", o.init == LoRAInit::gaussian
                                  ? normal({o.adapters, o.rank, in}, 0.0, 1.0 / double(o.rank), gen, dt)
                                  : fan_in_uniform({o.adapters, o.rank, in}, in, gen, dt));
  B = register_parameter("B", zeros({o.adapters, out, o.rank}, dt));
  dropout_ = register_module("dropout", std::make_shared<Dropout>(o.dropout, o.seed));
}

Var LoRALinear::forward(const Var& x, bool members_first) const {
  const int64_t K = options_.adapters, in = base->in_features(), out = base->out_features();
  GL_CHECK(x.dim() >= 1 && x.size(-1) == in, "LoRALinear: x of shape {} does not end in in = {}", x.shape(), in);
  if (K == 1) {
    GL_CHECK(!members_first, "LoRALinear: members_first needs more than one adapter");
    const Var y = base->forward(x);
    if (merged_) return y;
    const Var low = linear(linear(dropout_->forward(x), select(A, 0, 0), Var()), select(B, 0, 0), Var());
    return y + low * scale();
  }
  GL_CHECK(!merged_, "LoRALinear: cannot evaluate several adapters while merged");
  GL_CHECK(!members_first || (x.dim() >= 2 && x.size(0) == K),
           "LoRALinear: with members_first, x of shape {} should start with the {} members", x.shape(), K);
  // Flatten to [Kx, M, in] with Kx = K (own inputs) or 1 (shared input).
  const int64_t Kx = members_first ? K : 1;
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out;
  if (!members_first) out_shape.insert(0, K);
  const Var x3 = reshape(x, {Kx, -1, in});
  const Var y = base->forward(x3);  // [Kx, M, out], computed once
  const Var low = matmul(matmul(dropout_->forward(x3), transpose(A, 1, 2)), transpose(B, 1, 2));  // [K, M, out]
  return reshape(y + low * scale(), out_shape);
}

void LoRALinear::merge() {
  GL_CHECK(options_.adapters == 1, "LoRALinear::merge: only one adapter can be merged, this layer has {}",
           options_.adapters);
  GL_CHECK(!merged_, "LoRALinear::merge: already merged");
  NoGradGuard guard;
  Tensor w = base->weight.value();
  w.copy_(add(w, mul(matmul(B.value().select(0, 0), A.value().select(0, 0)), scale())));
  merged_ = true;
}

void LoRALinear::unmerge() {
  GL_CHECK(merged_, "LoRALinear::unmerge: not merged");
  NoGradGuard guard;
  Tensor w = base->weight.value();
  w.copy_(sub(w, mul(matmul(B.value().select(0, 0), A.value().select(0, 0)), scale())));
  merged_ = false;
}

}  // namespace gradlab::nn
