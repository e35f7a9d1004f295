// From an elementwise op's enum to its functor: the one switch every backend's
// elementwise kernels go through (tensor/cpu/elementwise.cpp,
// tensor/cuda/elementwise.cu, tensor/ref/). The unary switches are generated
// from the list in tensor/unary_ops.h.
#pragma once

#include <type_traits>

#include "tensor/functors.h"
#include "tensor/backend.h"

namespace gradlab {

// How costly one element is: the CPU gives transcendental ops a smaller parallel grain.
enum class ElementCost { cheap, transcendental };

// Whether a row's op takes element type T (`any` takes integers too).
template <class T>
constexpr bool unary_takes_any = true;
template <class T>
constexpr bool unary_takes_floating = std::is_floating_point_v<T>;

// Calls go(functor, cost) with op's functor for element type T, built from its
// parameters; returns false, calling nothing, when op is not defined for T.
template <class T, class Go>
bool visit_unary(UnaryOp op, UnaryParams p, Go&& go) {
  switch (op) {
#define GL_VISIT_UNARY(name, printed, F, G, dtypes, cost, args, lo, hi) \
  case UnaryOp::name:                                                   \
    if constexpr (unary_takes_##dtypes<T>) {                            \
      go(fn::F{GL_UNPACK args}, ElementCost::cost);                       \
      return true;                                                      \
    } else {                                                            \
      return false;                                                     \
    }
    GL_UNARY_OPS(GL_VISIT_UNARY)
#undef GL_VISIT_UNARY
  }
  return false;
}

// Calls go(derivative functor) for op: g(x, y, dout) = dout * op'(x), for a
// floating T.
template <class T, class Go>
void visit_unary_grad(UnaryOp op, UnaryParams p, Go&& go) {
  static_assert(std::is_floating_point_v<T>, "unary derivatives are floating only");
  switch (op) {
#define GL_VISIT_UNARY_GRAD(name, printed, F, G, dtypes, cost, args, lo, hi) \
  case UnaryOp::name: return go(fn::G{GL_UNPACK args});
    GL_UNARY_OPS(GL_VISIT_UNARY_GRAD)
#undef GL_VISIT_UNARY_GRAD
  }
}

// Calls go(functor, cost) with op's functor for element type T; returns false,
// calling nothing, when op is not defined for T (div and pow need floats).
template <class T, class Go>
bool visit_binary(BinaryOp op, Go&& go) {
  switch (op) {
    case BinaryOp::add: go(fn::Add{}, ElementCost::cheap); return true;
    case BinaryOp::sub: go(fn::Sub{}, ElementCost::cheap); return true;
    case BinaryOp::mul: go(fn::Mul{}, ElementCost::cheap); return true;
    case BinaryOp::maximum: go(fn::Maximum{}, ElementCost::cheap); return true;
    case BinaryOp::minimum: go(fn::Minimum{}, ElementCost::cheap); return true;
    case BinaryOp::div:
    case BinaryOp::pow: break;
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (op == BinaryOp::div) go(fn::Div{}, ElementCost::cheap);
    if (op == BinaryOp::pow) go(fn::Pow{}, ElementCost::transcendental);
    return true;
  }
  return false;
}

// Calls go(functor) with the comparison's functor (every dtype).
template <class Go>
void visit_compare(CompareOp op, Go&& go) {
  switch (op) {
    case CompareOp::eq: return go(fn::Eq{});
    case CompareOp::ne: return go(fn::Ne{});
    case CompareOp::lt: return go(fn::Lt{});
    case CompareOp::le: return go(fn::Le{});
    case CompareOp::gt: return go(fn::Gt{});
    case CompareOp::ge: return go(fn::Ge{});
  }
}

}  // namespace gradlab
