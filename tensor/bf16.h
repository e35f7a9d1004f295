// bf16 (bfloat16) values as stored in a DType::bf16 tensor: the upper 16 bits
// of an IEEE f32 (sign, the same 8-bit exponent, 7 mantissa bits), held as a
// uint16_t. Widening to f32 is exact; narrowing rounds to nearest, ties to
// even, keeps infinities and turns every NaN into a quiet NaN. f64 values are
// narrowed through f32, as other frameworks do (two roundings). The CPU, ref
// and CUDA kernels all use these two functions, so they agree bit for bit.
#pragma once

#include <cstdint>
#include <type_traits>

#include "tensor/dtype.h"
#include "tensor/host_device.h"
#include "tensor/vec_math.h"

namespace gradlab {

GL_HD float bf16_to_float(uint16_t b) { return vm::from_bits(int32_t(uint32_t(b) << 16)); }

GL_HD uint16_t float_to_bf16(float f) {
  const uint32_t bits = uint32_t(vm::to_bits(f));
  // Round to nearest even: add 0x7fff, plus 1 when the kept part is odd. An
  // overflow carries into the exponent, which is the right answer (up to inf).
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const uint32_t quiet_nan = (bits >> 16) | 0x0040u;  // keeps the sign and the top of the payload
  // A select rather than an early return, so that loops over it vectorise.
  return uint16_t((bits & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

// A bf16 element as the kernels that move or convert elements see it: its
// stored bits, with no arithmetic of its own.
struct bf16 {
  uint16_t bits;
};
template <>
constexpr DType dtype_of<bf16>() {
  return DType::bf16;
}

// One element converted to another element type, as copy, .to(dtype) and fill
// do on every backend: b8 is written as v != 0 (so 0.5 becomes true) and read
// as 0 or 1; bf16 goes through f32 both ways; everything else by static_cast
// (float to int truncates).
template <class To, class From>
GL_HD To convert_element(From v) {
  if constexpr (std::is_same_v<To, From>)
    return v;
  else if constexpr (std::is_same_v<From, bf16>)
    return convert_element<To>(bf16_to_float(v.bits));
  else if constexpr (std::is_same_v<To, bf16>)
    return bf16{float_to_bf16(convert_element<float>(v))};
  else if constexpr (std::is_same_v<To, bool>)
    return v != From(0);
  else
    return static_cast<To>(v);
}

// dispatch_all for the kernels that only move or convert elements (copy,
// fill): bf16 is passed as gradlab::bf16.
template <class Fn>
decltype(auto) dispatch_storage(DType dt, std::string_view op, Fn&& fn) {
  if (dt == DType::bf16) return fn(bf16{});
  return dispatch_all(dt, op, std::forward<Fn>(fn));
}

}  // namespace gradlab
