// The public op list of gradlab's tensor library (forward only; autograd wraps
// these). Every op follows NumPy broadcasting, accepts strided views, returns a
// fresh contiguous tensor (views are methods on Tensor), and throws
// gradlab::Error naming itself and the offending shapes on bad input.
// Binary ops need equal dtypes; a C++ scalar takes the tensor's dtype.
#pragma once

#include <optional>
#include <utility>
#include <vector>

#include "tensor/backend.h"
#include "tensor/creation.h"
#include "tensor/parallel.h"
#include "tensor/random.h"
#include "tensor/tensor.h"

namespace gradlab {

// ---- unary (floating dtypes; the rows marked `any` in tensor/unary_ops.h take integers too) ----
// One function a row of GL_UNARY_OPS_PLAIN: Tensor neg(const Tensor& x),
// abs, sign, exp, log, log1p, sqrt, rsqrt, square, tanh, sigmoid, relu, silu.
#define GL_DECLARE_TENSOR_UNARY(name, ...) Tensor name(const Tensor& x);
GL_UNARY_OPS_PLAIN(GL_DECLARE_TENSOR_UNARY)
#undef GL_DECLARE_TENSOR_UNARY
Tensor gelu(const Tensor& x, bool tanh_approximation = false);  // exact (erf) by default
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor pow(const Tensor& x, double exponent);

// dout * f'(x) for the unary op f, given its input x and output y = f(x)
// (the backward of each unary op, fused into one pass).
Tensor unary_grad(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dout, UnaryParams params = {});

// ---- binary ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);  // NaN propagates
Tensor minimum(const Tensor& a, const Tensor& b);

// A scalar operand becomes a 0-d tensor of the other operand's dtype.
Tensor scalar_like(double value, const Tensor& like);
Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);
Tensor maximum(const Tensor& a, double b);
Tensor minimum(const Tensor& a, double b);

// Comparisons give b8 masks.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
// cond ? a : b, with cond a b8 mask; all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);

// ---- reductions ----
// `axes` empty means all axes. keepdim keeps reduced axes with size 1.
// sum of an integer or b8 tensor gives i64; mean/var/logsumexp/norm need floats.
// max, min, mean, var, argmax, argmin refuse an empty reduction.
using Axes = std::vector<int64_t>;
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Divides by N - correction (1: unbiased, as PyTorch's default; 0: population).
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdim = false, int64_t correction = 1);
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
// Sums x over the axes that broadcasting added or stretched, so that it has
// `shape` (the gradient of broadcasting to x's shape). x's shape must be a
// broadcast of `shape`.
Tensor sum_to(const Tensor& x, const Shape& shape);
// p-norm over axes: p = 2 (default), 1, any p > 0, or INFINITY for max |x|.
Tensor norm(const Tensor& x, double p = 2.0, const Axes& axes = {}, bool keepdim = false);
// Index (i64) of the first max/min along one axis, or of the flattened tensor when axis is empty.
Tensor argmax(const Tensor& x, std::optional<int64_t> axis = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> axis = std::nullopt, bool keepdim = false);

// ---- matmul ----
// NumPy matmul: 1-D operands gain an axis that is dropped again; batch axes
// broadcast; transposed views are read in place without a copy.
Tensor matmul(const Tensor& a, const Tensor& b);
// x W^T + b over the last axis of x [.., in]: weight [out, in], bias [out] or
// undefined; the bias is added inside the GEMM, not in a second pass.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- along one axis ----
Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);
Tensor cumsum(const Tensor& x, int64_t axis);
// out[i][j] = x[i][index[i][j]] (axis 1): index has x's rank and, off the axis,
// sizes no larger than x's.
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// A copy of x with src added at the positions index names along axis
// (duplicates accumulate); index and src have the same shape.
Tensor scatter_add(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);
// In-place form: x[.., index, ..] += src. Returns x.
Tensor& scatter_add_(Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);
// x with `axis` restricted to the entries of the 1-D index, in order (repeats allowed).
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);
// In place: x[.., index[j], ..] += src[.., j, ..] along axis, for the 1-D index
// (repeats accumulate); the inverse of index_select. Returns x.
Tensor& index_add_(Tensor& x, int64_t axis, const Tensor& index, const Tensor& src);
// [..., num_classes] with a 1 at each index; index is i32 or i64.
Tensor one_hot(const Tensor& index, int64_t num_classes, DType dtype = DType::f32);
Tensor concat(const std::vector<Tensor>& xs, int64_t axis = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t axis = 0);
// concat({a, b}) and stack({a, b}) with tensors (braced lists would otherwise
// be ambiguous with the Var overloads of autograd/ops.h).
inline Tensor concat(std::initializer_list<Tensor> xs, int64_t axis = 0) {
  return concat(std::vector<Tensor>(xs), axis);
}
inline Tensor stack(std::initializer_list<Tensor> xs, int64_t axis = 0) { return stack(std::vector<Tensor>(xs), axis); }
// Views of consecutive pieces along axis: of `size` each (the last may be
// shorter), or of the given sizes, which must add up to the axis length.
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t axis = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis = 0);

// ---- ordering ----
struct ValuesIndices {
  Tensor values;
  Tensor indices;  // i64
};
// Stable sort along axis (NaN sorts last ascending, first descending).
ValuesIndices sort(const Tensor& x, int64_t axis = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t axis = -1, bool descending = false);
// The k largest (or smallest) along axis, sorted; ties keep the lower index first.
ValuesIndices topk(const Tensor& x, int64_t k, int64_t axis = -1, bool largest = true);

// ---- small dense linear algebra (f32 or f64; computed in f64 on the CPU) ----
// Symmetric eigendecomposition a = V diag(w) V^T (cyclic Jacobi rotations
// below 32 rows, Householder tridiagonalisation and implicit QL from there),
// eigenvalues ascending, eigenvectors in the columns of V. Batch axes allowed.
struct Eigh {
  Tensor eigenvalues;   // [.., n]
  Tensor eigenvectors;  // [.., n, n]
};
Eigh eigh(const Tensor& a);
// Thin SVD by one-sided Jacobi: a [.., m, n] = U diag(S) Vh, k = min(m, n),
// U [.., m, k], S [.., k] descending, Vh [.., k, n].
struct Svd {
  Tensor U, S, Vh;
};
Svd svd(const Tensor& a);

}  // namespace gradlab
