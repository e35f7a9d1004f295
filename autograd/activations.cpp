// Differentiable activations with their own backward formulas: log_sigmoid,
// stable for any x, and the entropy of the categorical distribution
// softmax(logits) along one axis. Both stay finite for logits of any size, and
// entropy treats a -inf logit (a masked-out class) as probability zero.
#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace gradlab {

GL_OP(kLogSigmoid, "log_sigmoid");
GL_OP(kEntropy, "entropy");

Var log_sigmoid(const Var& x) {
  GL_CHECK(x.defined() && x.value().defined(), "log_sigmoid: tensor is undefined");
  GL_CHECK(is_floating(x.dtype()), "log_sigmoid: expected f32 or f64, got {}", x.dtype());
  const Tensor& v = x.value();
  // log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)): exp never sees a positive argument.
  const Tensor y = sub(minimum(v, 0.0), log1p(exp(neg(abs(v)))));
  // d/dx log sigmoid(x) = 1 - sigmoid(x) = sigmoid(-x)
  return record(kLogSigmoid, y, {x}, {v},
                [](const GradContext& g) -> std::vector<Tensor> { return {mul(g.dout, sigmoid(neg(g.saved[0])))}; });
}

Var entropy(const Var& logits, int64_t axis) {
  GL_CHECK(logits.defined() && logits.value().defined(), "entropy: tensor is undefined");
  GL_CHECK(is_floating(logits.dtype()), "entropy: expected f32 or f64, got {}", logits.dtype());
  const Tensor& x = logits.value();
  const int a = wrap_axis(axis, x.dim(), "entropy");
  Shape kept = x.shape();
  if (x.dim() > 0) kept[a] = 1;
  const Tensor logp = log_softmax(x, a);
  const Tensor p = exp(logp);
  // 0 log 0 = 0: where p is zero (a -inf logit) log p counts as 0, not -inf.
  const Tensor safe_logp = where(gt(p, 0.0), logp, scalar_like(0.0, logp));
  const Tensor h = neg(sum(mul(p, safe_logp), {a}));
  // dH/dx_j = -p_j (log p_j + H)
  return record(kEntropy, h, {logits}, {p, safe_logp, h}, [kept](const GradContext& g) -> std::vector<Tensor> {
    const Tensor& pv = g.saved[0];
    const Tensor inner = add(g.saved[1], g.saved[2].reshape(kept));
    return {mul(mul(pv, inner), neg(g.dout.reshape(kept)))};
  });
}

GL_GRADCHECK(kLogSigmoid, "", {{{3, 4}, -6, 6}}, [](const Vars& x) { return log_sigmoid(x[0]); });
GL_GRADCHECK(kLogSigmoid, "large inputs", {{{3, 4}, -30, 30}}, [](const Vars& x) { return log_sigmoid(x[0]); });
GL_GRADCHECK(kEntropy, "axis -1", {{{3, 5}, -2, 2}}, [](const Vars& x) { return entropy(x[0]); });
GL_GRADCHECK(kEntropy, "axis 0", {{{3, 4, 2}, -2, 2}}, [](const Vars& x) { return entropy(x[0], 0); });
GL_GRADCHECK(kEntropy, "large logits", {{{4, 6}, -30, 30}}, [](const Vars& x) { return entropy(x[0], 1); });
GL_GRADCHECK(kEntropy, "a -inf logit", {{{2, 4}, -2, 2}}, [](const Vars& x) {
  const Tensor mask = tensor({0, -INFINITY, 0, 0, 0, 0, 0, -INFINITY}, {2, 4}, DType::f64);
  return entropy(x[0] + Var(mask));
});

}  // namespace gradlab
