// Differentiable linear algebra: the nuclear norm (sum of singular values) of
// each matrix of x [.., m, n], from the thin SVD of tensor/ops.h. Its gradient
// is U Vh: unique wherever all min(m, n) singular values are positive (a
// repeated positive value leaves U Vh unchanged whatever basis the SVD picks).
// At a zero singular value only a subgradient exists; we drop those columns
// of U, which gives the subgradient of least norm and does not depend on how
// the SVD completed U and Vh.
#include <algorithm>
#include <limits>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace gradlab {

GL_OP(kNuclearNorm, "nuclear_norm");

Var nuclear_norm(const Var& x) {
  GL_CHECK(x.defined() && x.value().defined(), "nuclear_norm: tensor is undefined");
  GL_CHECK(x.dim() >= 2, "nuclear_norm: expected matrices [.., m, n], got shape {}", x.shape());
  const Svd s = svd(x.value());
  // [..] (0-d for one matrix): the sum over the last axis of S [.., k]
  const Tensor out = sum(s.S, {-1});
  // Singular values below max(S) * max(m, n) * epsilon count as zero (as a
  // numerical rank does); their columns of U get weight 0.
  Tensor u = s.U;
  if (s.S.size(-1) > 0) {
    const double epsilon =
        x.dtype() == DType::f32 ? std::numeric_limits<float>::epsilon() : std::numeric_limits<double>::epsilon();
    const Tensor largest = s.S.narrow(-1, 0, 1);  // S is descending
    const Tensor positive = gt(s.S, mul(largest, epsilon * double(std::max(x.size(-1), x.size(-2)))));
    u = mul(s.U, positive.to(x.dtype()).unsqueeze(-2));
  }
  return record(kNuclearNorm, out, {x}, {u, s.Vh}, [](const GradContext& g) -> std::vector<Tensor> {
    // dx = dout U Vh, one matrix at a time (U [.., m, k], Vh [.., k, n])
    const Tensor d = g.dout.unsqueeze(-1).unsqueeze(-1);
    return {mul(matmul(g.saved[0], g.saved[1]), d)};
  });
}

namespace {
// Offsets that keep the singular values of the perturbed matrices well apart
// (and away from zero), so that the central differences see a smooth function.
Tensor offset_3x4() { return tensor({3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, 0}, {3, 4}, DType::f64); }
Tensor offset_2x4x3() {
  return tensor({3, 0, 0, 0, 2,   0, 0, 0, 1, 0, 0, 0,   // singular values 3, 2, 1
                 0, 0, 4, 0, 2.5, 0, 1, 0, 0, 0, 0, 0},  // 4, 2.5, 1
                {2, 4, 3}, DType::f64);
}
}  // namespace

GL_GRADCHECK(kNuclearNorm, "3x4", {{{3, 4}, -0.2, 0.2}},
             [](const Vars& x) { return nuclear_norm(x[0] + Var(offset_3x4())); });
GL_GRADCHECK(kNuclearNorm, "batched [2, 4, 3]", {{{2, 4, 3}, -0.2, 0.2}},
             [](const Vars& x) { return nuclear_norm(x[0] + Var(offset_2x4x3())); });

}  // namespace gradlab
