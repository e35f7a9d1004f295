// Differentiable matmul: dA = dY B^T and dB = A^T dY, with 1-D operands
// promoted to matrices and the batch axes summed back where they broadcast.
// Transposes are views, so no operand is copied.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"

namespace gradlab {

GL_OP(kMatmul, "matmul");

Var matmul(const Var& a, const Var& b) {
  const Tensor y = matmul(a.value(), b.value());
  return record(kMatmul, y, {a, b}, {a.value(), b.value()}, [](const GradContext& g) -> std::vector<Tensor> {
    // Promote 1-D operands as the forward did: a row [1, K] and a column [K, 1].
    const Tensor A = g.saved[0].dim() == 1 ? g.saved[0].unsqueeze(0) : g.saved[0];
    const Tensor B = g.saved[1].dim() == 1 ? g.saved[1].unsqueeze(1) : g.saved[1];
    const bool a_vec = g.saved[0].dim() == 1, b_vec = g.saved[1].dim() == 1;
    Tensor D = g.dout;
    if (a_vec) D = D.unsqueeze(b_vec ? D.dim() : D.dim() - 1);  // the row axis the forward dropped
    if (b_vec) D = D.unsqueeze(D.dim());                        // the column axis
    Tensor da, db;
    if (g.need(0)) da = sum_to(matmul(D, B.mT()), A.shape()).reshape(g.shapes[0]);
    if (g.need(1)) db = sum_to(matmul(A.mT(), D), B.shape()).reshape(g.shapes[1]);
    return {da, db};
  });
}

// y = x W^T + b over the last axis of x [.., in], with weight [out, in] and
// bias [out] (or undefined): a Linear layer as one node. The batch axes are
// flattened, so each gradient is one GEMM: dx = dy W, dW = dy^T x, db = sum dy.
GL_OP(kLinear, "linear");

namespace {
// db = the column sums of dy [rows, out]; a bf16 dy is summed in f32 and
// rounded once, since bf16 has no reduction of its own.
Tensor bias_gradient(const Tensor& dy) {
  if (dy.dtype() == DType::bf16) return sum(dy.to(DType::f32), {0}).to(DType::bf16);
  return sum(dy, {0});
}
}  // namespace

Var linear(const Var& x, const Var& weight, const Var& bias) {
  GL_CHECK(x.defined() && weight.defined(), "linear: x or weight is undefined");
  const Tensor y = linear(x.value(), weight.value(), bias.defined() ? bias.value() : Tensor());
  const int64_t in = weight.size(1), out = weight.size(0);
  const Tensor x2 = x.value().reshape({y.numel() / std::max<int64_t>(out, 1), in});
  return record(kLinear, y, {x, weight, bias}, {x2, weight.value()},
                [in, out](const GradContext& g) -> std::vector<Tensor> {
                  const Tensor dy = g.dout.reshape({-1, out});
                  const Tensor& xs = g.saved[0];
                  const Tensor& w = g.saved[1];
                  return {g.need(0) ? matmul(dy, w).view(g.shapes[0]) : Tensor(),
                          g.need(1) ? matmul(dy.mT(), xs) : Tensor(), g.need(2) ? bias_gradient(dy) : Tensor()};
                });
}

GL_GRADCHECK(kLinear, "with bias, 3-D input", {{{2, 3, 4}}, {{5, 4}}, {{5}}},
             [](const Vars& x) { return linear(x[0], x[1], x[2]); });
GL_GRADCHECK(kLinear, "without bias", {{{3, 4}}, {{2, 4}}}, [](const Vars& x) { return linear(x[0], x[1], Var()); });

GL_GRADCHECK(kMatmul, "2-D", {{{3, 4}}, {{4, 5}}}, [](const Vars& x) { return matmul(x[0], x[1]); });
GL_GRADCHECK(kMatmul, "batch broadcast", {{{2, 1, 3, 4}}, {{3, 4, 2}}},
             [](const Vars& x) { return matmul(x[0], x[1]); });
GL_GRADCHECK(kMatmul, "vector @ matrix", {{{4}}, {{2, 4, 3}}}, [](const Vars& x) { return matmul(x[0], x[1]); });
GL_GRADCHECK(kMatmul, "matrix @ vector", {{{3, 4}}, {{4}}}, [](const Vars& x) { return matmul(x[0], x[1]); });
GL_GRADCHECK(kMatmul, "vector @ vector", {{{4}}, {{4}}}, [](const Vars& x) { return matmul(x[0], x[1]); });
GL_GRADCHECK(kMatmul, "transposed operands", {{{4, 3}}, {{5, 4}}},
             [](const Vars& x) { return matmul(transpose(x[0], 0, 1), transpose(x[1], 0, 1)); });

}  // namespace gradlab
