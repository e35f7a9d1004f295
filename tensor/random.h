// Random numbers from Philox4x32-10, a counter-based generator: block j of the
// stream keyed by `seed` is philox(counter = (offset + j) as 64 bits in words
// 0-1, words 2-3 zero; key = seed as two 32-bit words). Element i of a fresh
// tensor reads a fixed block and word, so any backend (the CUDA one included)
// produces the same numbers for the same (seed, offset), in any order:
//   f32 uniform, randint: block offset + i/4, word i%4 (24 or 32 bits)
//   f64 uniform:          block offset + i/2, words 2(i%2) and 2(i%2)+1 (53 bits)
//   normal (Box-Muller):  pairs of uniforms from the same block give pairs of normals
// A Generator hands out consecutive block ranges, so successive calls never reuse one.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <type_traits>

#include "tensor/host_device.h"
#include "tensor/tensor.h"

namespace gradlab {

// One Philox4x32-10 block: ten rounds of the multiply-xor Feistel network.
GL_HD void philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;  // Weyl key schedule (golden ratio, sqrt(3) - 1)
      k1 += 0xBB67AE85u;
    }
    const uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// The four words of stream block `block` for `seed`.
GL_HD void philox_block(uint64_t seed, uint64_t block, uint32_t out[4]) {
  const uint32_t counter[4] = {uint32_t(block), uint32_t(block >> 32), 0u, 0u};
  const uint32_t key[2] = {uint32_t(seed), uint32_t(seed >> 32)};
  philox4x32_10(counter, key, out);
}

// An independent 64-bit seed for stream `stream` of a run seeded `seed`
// (SplitMix64 of the pair): the one way gradlab splits a seed, so that network
// init, action noise, minibatch order and environments never share a Philox
// stream. Generator(seed).fork(stream) is that stream's generator (the way to
// derive one); derive_seed itself serves what takes a plain seed (an env's reset).
uint64_t derive_seed(uint64_t seed, uint64_t stream);

// Owns a seed and the next unused block of its stream.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  void set_offset(uint64_t offset) { offset_ = offset; }
  // A generator of its own for stream `stream` of this one's seed, at offset 0:
  // Generator(derive_seed(seed(), stream)), whatever this one has drawn.
  Generator fork(uint64_t stream) const { return Generator(derive_seed(seed_, stream)); }
  // Reserves `blocks` consecutive blocks and returns the first.
  uint64_t reserve(uint64_t blocks) {
    const uint64_t first = offset_;
    offset_ += blocks;
    return first;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The generator used when none is passed: one per thread, seeded 0 until
// manual_seed, so that runs on parallel threads do not share a stream.
Generator& default_generator();
void manual_seed(uint64_t seed);

// A uniformly random permutation of 0 .. n-1 ([n] i64): the order of n i.i.d.
// f64 uniform keys (ties among 53-bit keys are negligible and broken by index).
// The one way gradlab draws a permutation as a tensor (e.g. PPO's minibatches).
Tensor randperm(int64_t n, Generator& gen);

// Scalar draws on the host, one block each: uniform01 is the value element 0
// of a fresh f64 rand would take; uniform_int(n) is floor(uniform01 * n), in [0, n).
double uniform01(Generator& gen);
int64_t uniform_int(int64_t n, Generator& gen);
// Shuffles v in place by Fisher-Yates from the back: for i = n .. 2, swap
// v[i - 1] with v[uniform_int(i)] (n - 1 draws). The one way gradlab shuffles
// a host array (e.g. the minibatch order of the alignment training loops).
void shuffle(std::span<int64_t> v, Generator& gen);
// Moves k distinct elements of v, chosen uniformly, to v[0, k) by a partial
// Fisher-Yates shuffle from the front: for i = 0 .. k - 1, swap v[i] with
// v[i + uniform_int(n - i)] (k draws). The one way gradlab picks k of n
// (e.g. which corpus entries a planted error goes to).
void choose_front(std::span<int64_t> v, int64_t k, Generator& gen);

// Uniform on [0, 1) / [lo, hi).
Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu);
Tensor rand(const Shape& shape, DType dtype = DType::f32);
Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen, DType dtype = DType::f32,
               Device device = Device::cpu);
// Standard normal / normal(mean, std).
Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, Device device = Device::cpu);
Tensor randn(const Shape& shape, DType dtype = DType::f32);
Tensor normal(const Shape& shape, double mean, double std, Generator& gen, DType dtype = DType::f32,
              Device device = Device::cpu);
// Integers uniform on [low, high); high - low at most 2^32.
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen, DType dtype = DType::i64,
               Device device = Device::cpu);
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64);

// Element i's value, as every backend computes it: each backend's kernels call
// these (GL_HD: compiled for the host and for CUDA devices alike).
GL_HD float philox_uniform_f32(uint64_t seed, uint64_t offset, int64_t i) {
  uint32_t w[4];
  philox_block(seed, offset + uint64_t(i) / 4, w);
  return float(w[i % 4] >> 8) * (1.0f / 16777216.0f);
}
GL_HD double philox_uniform_f64(uint64_t seed, uint64_t offset, int64_t i) {
  uint32_t w[4];
  philox_block(seed, offset + uint64_t(i) / 2, w);
  const int j = 2 * int(i % 2);
  const uint64_t bits = (uint64_t(w[j]) << 32 | w[j + 1]) >> 11;
  return double(bits) * (1.0 / 9007199254740992.0);
}

// Element i of the uniform stream in T's precision (f32: philox_uniform_f32,
// f64: philox_uniform_f64), as a double: what uniform and dropout read.
template <class T>
GL_HD double philox_uniform(uint64_t seed, uint64_t offset, int64_t i) {
  if constexpr (std::is_same_v<T, float>)
    return double(philox_uniform_f32(seed, offset, i));
  else
    return philox_uniform_f64(seed, offset, i);
}

// Box-Muller on the pair of uniforms (u1, u2), u1 in (0, 1]: returns the cos
// (first = true) or sin member of the pair. Computed in f64 for f32 too, so
// every backend rounds the same value.
GL_HD double box_muller(double u1, double u2, bool first) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double angle = 6.283185307179586 * u2;
  return first ? r * std::cos(angle) : r * std::sin(angle);
}

// Standard normal number i of the stream in T's precision. Elements 2j and
// 2j+1 share the uniforms 2j and 2j+1: words (0, 1) or (2, 3) of one block in
// f32, the two 64-bit halves of one block in f64.
template <class T>
GL_HD double philox_normal(uint64_t seed, uint64_t offset, int64_t i) {
  const int64_t pair = i & ~int64_t(1);
  return box_muller(1.0 - philox_uniform<T>(seed, offset, pair), philox_uniform<T>(seed, offset, pair + 1),
                    (i & 1) == 0);
}

// Integer i of randint on [low, high): Lemire's multiply-shift maps word i%4 of
// block offset + i/4 onto [0, high - low) (high - low at most 2^32).
GL_HD int64_t philox_randint(uint64_t seed, uint64_t offset, int64_t i, int64_t low, int64_t high) {
  uint32_t w[4];
  philox_block(seed, offset + uint64_t(i) / 4, w);
  const uint64_t range = uint64_t(high - low);
  return low + int64_t((uint64_t(w[i % 4]) * range) >> 32);
}

}  // namespace gradlab
