// Entry of matmul: NumPy's rules for 1-D operands and broadcast batch axes.
#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gradlab {

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  GL_CHECK(a_in.defined() && b_in.defined(), "matmul: tensor is undefined");
  GL_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul: operands need at least one axis, got {} and {}",
           a_in.shape(), b_in.shape());
  GL_CHECK(a_in.dtype() == b_in.dtype(), "matmul: dtypes differ ({} and {})", a_in.dtype(), b_in.dtype());
  GL_CHECK(is_floating(a_in.dtype()), "matmul: expected f32 or f64, got {}", a_in.dtype());
  GL_CHECK(a_in.device() == b_in.device(), "matmul: tensors are on different devices ({} and {})",
           a_in.device(), b_in.device());
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
  GL_CHECK(try_broadcast(batch_a, batch_b, batch), "matmul: batch shapes of {} and {} do not broadcast",
           a_in.shape(), b_in.shape());
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

}  // namespace gradlab
