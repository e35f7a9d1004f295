// Element types and devices. DType names the scalar type of a tensor; the
// dispatch helpers turn a runtime DType into a compile-time C++ type so that a
// kernel is written once as a template: dispatch_float(dt, "op", [&](auto t) {
// using T = decltype(t); ... }).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tensor/error.h"

namespace gradlab {

// f32 and f64 for values; i32 and i64 for indices and counts; b8 for masks
// (comparisons produce b8, `where` consumes it; one byte, 0 or 1). bf16 is a
// storage type for mixed precision (tensor/bf16.h): f32's exponent with a
// 7-bit mantissa, two bytes. It converts to and from every dtype (copy, .to,
// fill) and feeds matmul and linear, which multiply its values exactly and sum
// them in f32; every other op names itself and asks for f32 or f64.
enum class DType : uint8_t { f32, f64, i32, i64, b8, bf16 };

// Where a tensor's storage lives and whose kernels run on it: the optimised
// CPU kernels, the GPU, or the reference loops (plain loops over host memory,
// written to be read and to check the others against; tensor/ref/).
enum class Device : uint8_t { cpu, cuda, ref };
inline constexpr int kDeviceCount = 3;

constexpr size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
    case DType::b8: return 1;
    case DType::bf16: return 2;
  }
  return 0;
}

constexpr std::string_view dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::b8: return "b8";
    case DType::bf16: return "bf16";
  }
  return "?";
}

constexpr std::string_view device_name(Device d) {
  switch (d) {
    case Device::cpu: return "cpu";
    case Device::cuda: return "cuda";
    case Device::ref: return "ref";
  }
  return "?";
}

// bf16 is floating (it can require gradients) though few ops compute on it.
constexpr bool is_floating(DType dt) { return dt == DType::f32 || dt == DType::f64 || dt == DType::bf16; }
constexpr bool is_integral(DType dt) { return dt == DType::i32 || dt == DType::i64; }

// The DType of a C++ scalar type.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::f64;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::b8;
}

// The error of an op that does not compute on bf16.
[[noreturn]] inline void fail_bf16(std::string_view op) {
  fail("{}: not defined for bf16, a storage dtype (only conversion, fill, matmul and linear take it); "
       "convert with .to(DType::f32) first",
       op);
}

// Calls fn(T{}) with T the C++ type of dt, for f32 and f64.
template <class Fn>
decltype(auto) dispatch_float(DType dt, std::string_view op, Fn&& fn) {
  switch (dt) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::bf16: fail_bf16(op);
    default: fail("{}: expected a floating dtype (f32 or f64), got {}", op, dtype_name(dt));
  }
}

// Calls fn(T{}) for the numeric dtypes f32, f64, i32, i64 (not b8).
template <class Fn>
decltype(auto) dispatch_numeric(DType dt, std::string_view op, Fn&& fn) {
  switch (dt) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i32: return fn(int32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::bf16: fail_bf16(op);
    default: fail("{}: expected a numeric dtype (f32, f64, i32, i64), got {}", op, dtype_name(dt));
  }
}

// Calls fn(T{}) for every dtype that an op computes on; b8 maps to bool. bf16
// is a clear error naming op (the ops that take it handle it before dispatch).
template <class Fn>
decltype(auto) dispatch_all(DType dt, std::string_view op, Fn&& fn) {
  switch (dt) {
    case DType::f32: return fn(float{});
    case DType::f64: return fn(double{});
    case DType::i32: return fn(int32_t{});
    case DType::i64: return fn(int64_t{});
    case DType::b8: return fn(bool{});
    case DType::bf16: fail_bf16(op);
  }
  fail("{}: unknown dtype {}", op, static_cast<int>(dt));
}

// Calls fn(T{}) for index dtypes i32 and i64.
template <class Fn>
decltype(auto) dispatch_index(DType dt, std::string_view op, Fn&& fn) {
  switch (dt) {
    case DType::i32: return fn(int32_t{});
    case DType::i64: return fn(int64_t{});
    default: fail("{}: indices must be i32 or i64, got {}", op, dtype_name(dt));
  }
}

}  // namespace gradlab

template <>
struct fmt::formatter<gradlab::DType> : gradlab::PlainFormatter {
  auto format(gradlab::DType d, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}", gradlab::dtype_name(d));
  }
};

template <>
struct fmt::formatter<gradlab::Device> : gradlab::PlainFormatter {
  auto format(gradlab::Device d, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "{}", gradlab::device_name(d));
  }
};
