// Entry of matmul: NumPy's rules for 1-D operands and broadcast batch axes.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gradlab {

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  GL_CHECK(a_in.defined() && b_in.defined(), "matmul: tensor is undefined");
  GL_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul: operands need at least one axis, got {} and {}", a_in.shape(),
           b_in.shape());
  GL_CHECK(a_in.dtype() == b_in.dtype(), "matmul: dtypes differ ({} and {})", a_in.dtype(), b_in.dtype());
  GL_CHECK(is_floating(a_in.dtype()), "matmul: expected f32 or f64, got {}", a_in.dtype());
  GL_CHECK(a_in.device() == b_in.device(), "matmul: tensors are on different devices ({} and {})", a_in.device(),
           b_in.device());
  // A 1-D left operand is a row [1, K]; a 1-D right operand a column [K, 1].
  const bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  const Tensor a = a_vec ? a_in.unsqueeze(0) : a_in;
  const Tensor b = b_vec ? b_in.unsqueeze(1) : b_in;
  const int64_t M = a.shape()[a.dim() - 2], K = a.shape()[a.dim() - 1];
  const int64_t Kb = b.shape()[b.dim() - 2], N = b.shape()[b.dim() - 1];
  GL_CHECK(K == Kb, "matmul: inner dimensions differ: {} @ {} ({} vs {})", a_in.shape(), b_in.shape(), K, Kb);
  Shape batch_a(std::span<const int64_t>(a.shape().begin(), a.shape().end() - 2));
  Shape batch_b(std::span<const int64_t>(b.shape().begin(), b.shape().end() - 2));
  Shape batch;
  GL_CHECK(try_broadcast(batch_a, batch_b, batch), "matmul: batch shapes of {} and {} do not broadcast", a_in.shape(),
           b_in.shape());
  Shape shape_a = batch, shape_b = batch, shape_out = batch;
  shape_a.push_back(M);
  shape_a.push_back(K);
  shape_b.push_back(K);
  shape_b.push_back(N);
  shape_out.push_back(M);
  shape_out.push_back(N);
  Tensor out = Tensor::empty(shape_out, a.dtype(), a.device());
  if (out.numel() > 0) kernel(&Backend::matmul, a.device(), "matmul")(a.expand(shape_a), b.expand(shape_b), out);
  // Drop the axes that 1-D operands gained.
  if (a_vec && b_vec) return out.view(Shape(std::span<const int64_t>(batch.begin(), batch.end())));
  if (a_vec) return out.squeeze(-2);
  if (b_vec) return out.squeeze(-1);
  return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  GL_CHECK(x.defined() && weight.defined(), "linear: x or weight is undefined");
  GL_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got shape {}", weight.shape());
  GL_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear: x of shape {} does not end in in = {} (weight {})",
           x.shape(), weight.size(1), weight.shape());
  GL_CHECK(!bias.defined() || bias.shape() == Shape{weight.size(0)}, "linear: bias of shape {} should be [{}]",
           bias.defined() ? bias.shape() : Shape{}, weight.size(0));
  GL_CHECK(x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == x.dtype()),
           "linear: dtypes differ (x {}, weight {})", x.dtype(), weight.dtype());
  GL_CHECK(is_floating(x.dtype()), "linear: expected f32 or f64, got {}", x.dtype());
  GL_CHECK(x.device() == weight.device() && (!bias.defined() || bias.device() == x.device()),
           "linear: tensors are on different devices");
  const int64_t in = weight.size(1), n_out = weight.size(0);
  int64_t rows = 1;  // every axis but the last (reshape cannot infer it when in = 0)
  for (int i = 0; i + 1 < x.dim(); ++i) rows *= x.size(i);
  const Tensor x2 = x.reshape({rows, in});
  Tensor out = Tensor::empty({x2.size(0), n_out}, x.dtype(), x.device());
  if (out.numel() > 0)
    kernel(&Backend::linear, x.device(), "linear")(x2, weight, bias.defined() ? bias.contiguous() : bias, out);
  Shape shape = x.shape();
  shape[shape.size() - 1] = n_out;
  return out.view(shape);
}

}  // namespace gradlab
