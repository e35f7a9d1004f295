// Random tensors: each reserves its blocks from the generator, then asks the
// device's kernel to fill element i from its fixed (block, word). Scalar draws
// and the host shuffle take their blocks the same way.
#include "tensor/random.h"

#include <utility>

#include "tensor/backend.h"
#include "tensor/ops.h"

namespace gradlab {

Generator& default_generator() {
  thread_local Generator gen(0);  // one per thread: parallel runs stay reproducible
  return gen;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

// Blocks a tensor of n elements consumes: four 32-bit words each; f64 values
// (uniform and normal) take two words.
uint64_t blocks_for(int64_t n, DType dtype) {
  const int64_t per_block = dtype == DType::f64 ? 2 : 4;
  return uint64_t((n + per_block - 1) / per_block);
}

Tensor random_tensor(RandomKind kind, const Shape& shape, double a, double b, Generator& gen, DType dtype,
                     Device device, std::string_view op) {
  // bf16 values are f32 draws rounded once (the same stream as an f32 tensor's).
  if (dtype == DType::bf16) return random_tensor(kind, shape, a, b, gen, DType::f32, device, op).to(DType::bf16);
  Tensor out = Tensor::empty(shape, dtype, device);
  const uint64_t offset = gen.reserve(blocks_for(out.numel(), dtype));
  if (out.numel() > 0) kernel(&Backend::random, device, op)(kind, gen.seed(), offset, a, b, out);
  return out;
}

}  // namespace

Tensor uniform(const Shape& shape, double lo, double hi, Generator& gen, DType dtype, Device device) {
  GL_CHECK(is_floating(dtype), "uniform: dtype must be f32, f64 or bf16, got {}", dtype_name(dtype));
  GL_CHECK(lo <= hi, "uniform: low {} is above high {}", lo, hi);
  return random_tensor(RandomKind::uniform, shape, lo, hi, gen, dtype, device, "uniform");
}
Tensor rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return uniform(shape, 0.0, 1.0, gen, dtype, device);
}
Tensor rand(const Shape& shape, DType dtype) { return rand(shape, default_generator(), dtype); }

Tensor normal(const Shape& shape, double mean, double std, Generator& gen, DType dtype, Device device) {
  GL_CHECK(is_floating(dtype), "normal: dtype must be f32, f64 or bf16, got {}", dtype_name(dtype));
  GL_CHECK(std >= 0, "normal: std must be >= 0, got {}", std);
  return random_tensor(RandomKind::normal, shape, mean, std, gen, dtype, device, "normal");
}
Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  return normal(shape, 0.0, 1.0, gen, dtype, device);
}
Tensor randn(const Shape& shape, DType dtype) { return randn(shape, default_generator(), dtype); }

uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + (stream + 1) * 0xD1B54A32D192ED03ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Tensor randperm(int64_t n, Generator& gen) {
  GL_CHECK(n > 0, "randperm: n must be positive, got {}", n);
  return argsort(rand({n}, gen, DType::f64));
}

double uniform01(Generator& gen) { return philox_uniform_f64(gen.seed(), gen.reserve(1), 0); }

int64_t uniform_int(int64_t n, Generator& gen) {
  GL_CHECK(n > 0, "uniform_int: n must be positive, got {}", n);
  const int64_t k = int64_t(uniform01(gen) * double(n));
  return k < n ? k : n - 1;
}

void shuffle(std::span<int64_t> v, Generator& gen) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[size_t(uniform_int(int64_t(i), gen))]);
}

void choose_front(std::span<int64_t> v, int64_t k, Generator& gen) {
  const int64_t n = int64_t(v.size());
  GL_CHECK(k >= 0 && k <= n, "choose_front: cannot choose {} of {} elements", k, n);
  for (int64_t i = 0; i < k; ++i) std::swap(v[size_t(i)], v[size_t(i + uniform_int(n - i, gen))]);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen, DType dtype, Device device) {
  GL_CHECK(is_integral(dtype), "randint: dtype must be i32 or i64, got {}", dtype_name(dtype));
  GL_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  GL_CHECK(uint64_t(high - low) <= (uint64_t(1) << 32), "randint: range [{}, {}) is wider than 2^32", low, high);
  // Integers use one word each, like f32.
  Tensor out = Tensor::empty(shape, dtype, device);
  const uint64_t offset = gen.reserve(blocks_for(out.numel(), DType::f32));
  if (out.numel() > 0)
    kernel(&Backend::random, device, "randint")(RandomKind::randint, gen.seed(), offset, double(low), double(high),
                                                out);
  return out;
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  return randint(low, high, shape, default_generator(), dtype);
}

}  // namespace gradlab
