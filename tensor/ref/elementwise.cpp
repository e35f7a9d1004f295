// Reference elementwise kernels: copy (with dtype conversion), fill, unary and
// its backward, binary, compare and where. Each is one loop over the elements
// in C order, every operand read through its strides (strided.h), so transposed
// and expanded (stride-0) operands need nothing special. The formulas are the
// functors every backend shares (tensor/functors.h, reached from the op through
// the switches of tensor/elementwise_visit.h): for f32 and f64 they are
// evaluated in double (through <cmath>) and rounded once to the tensor's dtype;
// on integers they run in the integer type itself, which is exact.
#include <type_traits>

#include "tensor/bf16.h"
#include "tensor/elementwise_visit.h"
#include "tensor/ref/kernels.h"
#include "tensor/ref/strided.h"

namespace gradlab::ref {

namespace {

// f(args...) as the reference computes it for element type T: in double,
// rounded once to T, for floating T; in T itself for integers.
template <class T, class F, class... Args>
T eval(F f, Args... args) {
  if constexpr (std::is_floating_point_v<T>)
    return T(f(double(args)...));
  else
    return f(args...);
}

}  // namespace

// dst[i] = src[i] for every i (one shape), converting the dtype
// (convert_element, tensor/bf16.h).
void copy(const Tensor& src, const Tensor& dst) {
  dispatch_storage(dst.dtype(), "copy", [&](auto to_tag) {
    using To = decltype(to_tag);
    dispatch_storage(src.dtype(), "copy", [&](auto from_tag) {
      using From = decltype(from_tag);
      for (int64_t i = 0; i < dst.numel(); ++i) at<To>(dst, i) = convert_element<To>(at<From>(src, i));
    });
  });
}

// dst[i] = value, converted to dst's dtype.
void fill(const Tensor& dst, double value) {
  dispatch_storage(dst.dtype(), "fill", [&](auto tag) {
    using T = decltype(tag);
    const T v = convert_element<T>(value);
    for (int64_t i = 0; i < dst.numel(); ++i) at<T>(dst, i) = v;
  });
}

// out[i] = op(x[i]); the ops marked `any` in tensor/unary_ops.h also take integers.
void unary(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& out) {
  dispatch_numeric(x.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_unary<T>(op, params, [&](auto f, ElementCost) {
      for (int64_t i = 0; i < x.numel(); ++i) at<T>(out, i) = eval<T>(f, at<T>(x, i));
    });
    if (!defined) fail("{}: not defined for dtype {}", op_name(op), x.dtype());
  });
}

// dx[i] = dout[i] * op'(x[i]), each derivative reading x[i] or y[i] = op(x[i]).
void unary_backward(UnaryOp op, UnaryParams params, const Tensor& x, const Tensor& y, const Tensor& dout,
                    const Tensor& dx) {
  dispatch_float(x.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    visit_unary_grad<T>(op, params, [&](auto f) {
      for (int64_t i = 0; i < x.numel(); ++i) at<T>(dx, i) = eval<T>(f, at<T>(x, i), at<T>(y, i), at<T>(dout, i));
    });
  });
}

// out[i] = op(a[i], b[i]). add, sub, mul, maximum and minimum also take
// integers; maximum and minimum propagate NaN.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_numeric(a.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    const bool defined = visit_binary<T>(op, [&](auto f, ElementCost) {
      for (int64_t i = 0; i < out.numel(); ++i) at<T>(out, i) = eval<T>(f, at<T>(a, i), at<T>(b, i));
    });
    if (!defined) fail("{}: not defined for dtype {}", op_name(op), a.dtype());
  });
}

// out[i] (b8) = op(a[i], b[i]), for every dtype. A comparison is exact in the
// operands' own type, so it needs no double.
void compare(CompareOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(a.dtype(), op_name(op), [&](auto tag) {
    using T = decltype(tag);
    visit_compare(op, [&](auto f) {
      for (int64_t i = 0; i < out.numel(); ++i) at<bool>(out, i) = f(at<T>(a, i), at<T>(b, i));
    });
  });
}

// out[i] = cond[i] ? a[i] : b[i], for every dtype.
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(a.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    for (int64_t i = 0; i < out.numel(); ++i) at<T>(out, i) = at<bool>(cond, i) ? at<T>(a, i) : at<T>(b, i);
  });
}

}  // namespace gradlab::ref
