// Tensor metadata, views (which must share storage and never copy), copies,
// creation functions, in-place scaling, formatting, and the errors for bad
// shapes, axes and devices.
#include <doctest/doctest.h>

#include "tensor/device.h"
#include "tests/tensor/reference.h"

using namespace gradlab;
using ref::Index;

TEST_CASE("a fresh tensor is contiguous with C-order strides") {
  const Tensor t = Tensor::empty({2, 3, 4});
  CHECK(t.shape() == Shape{2, 3, 4});
  CHECK(t.strides() == Shape{12, 4, 1});
  CHECK(t.numel() == 24);
  CHECK(t.dim() == 3);
  CHECK(t.is_contiguous());
  CHECK(t.dtype() == DType::f32);
  CHECK(t.device() == Device::cpu);
  CHECK(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64 == 0);
  CHECK(Tensor::empty({}).numel() == 1);
  CHECK(Tensor::empty({3, 0}).numel() == 0);
}

TEST_CASE("views share storage and read the right elements") {
  const Tensor base = arange(0, 24, 1, DType::f64).view({2, 3, 4});
  auto same_storage = [&](const Tensor& v) { return v.storage() == base.storage(); };
  auto at = [](const Tensor& t, Index i) { return ref::read(t, i); };

  const Tensor p = base.permute({2, 0, 1});
  CHECK(same_storage(p));
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(at(p, {3, 1, 2}) == at(base, {1, 2, 3}));
  CHECK_FALSE(p.is_contiguous());

  const Tensor t = base.transpose(0, 2);
  CHECK(at(t, {1, 2, 0}) == at(base, {0, 2, 1}));

  const Tensor s = base.slice(2, 1, 4, 2);  // [..., 1:4:2]
  CHECK(same_storage(s));
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(at(s, {1, 1, 1}) == at(base, {1, 1, 3}));
  CHECK(base.slice(0, -1, 100).shape() == Shape{1, 3, 4});  // clamped, negative start
  CHECK(base.slice(1, 2, 1).shape() == Shape{2, 0, 4});     // empty

  const Tensor n = base.narrow(1, 1, 2);
  CHECK(at(n, {0, 0, 0}) == 4);

  const Tensor sel = base.select(1, -1);
  CHECK(sel.shape() == Shape{2, 4});
  CHECK(at(sel, {1, 2}) == at(base, {1, 2, 2}));

  const Tensor e = base.select(2, 0).unsqueeze(2).expand({2, 3, 5});
  CHECK(same_storage(e));
  CHECK(e.strides()[2] == 0);
  CHECK(at(e, {1, 2, 4}) == at(base, {1, 2, 0}));
  CHECK(has_internal_overlap(e));
  const Tensor e2 = tensor({1, 2, 3}).expand({4, 3});
  CHECK(e2.strides() == Shape{0, 1});

  CHECK(base.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
  CHECK(base.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(base.unsqueeze(1).squeeze(1).shape() == base.shape());
  CHECK(ones({1, 3, 1}).squeeze().shape() == Shape{3});
  CHECK(base.mT().shape() == Shape{2, 4, 3});
  CHECK(base.flatten(1).shape() == Shape{2, 12});
}

TEST_CASE("view reshapes without copying when strides allow, reshape copies otherwise") {
  const Tensor base = arange(0, 24, 1, DType::f32).view({2, 3, 4});
  const Tensor v = base.view({6, -1});
  CHECK(v.shape() == Shape{6, 4});
  CHECK(v.storage() == base.storage());
  // A slice along the last axis can still merge the leading axes.
  const Tensor s = base.slice(2, 0, 2);
  const Tensor sv = s.view({6, 2});
  CHECK(sv.storage() == base.storage());
  CHECK(ref::read(sv, {5, 1}) == ref::read(s, {1, 2, 1}));
  // Splitting an axis of a permuted tensor works when the piece is contiguous.
  const Tensor p = base.permute({1, 0, 2});  // [3, 2, 4]
  const Tensor pv = p.view({3, 2, 2, 2});
  CHECK(pv.storage() == base.storage());
  CHECK(ref::read(pv, {2, 1, 1, 0}) == ref::read(p, {2, 1, 2}));
  // Merging non-adjacent memory needs a copy.
  CHECK_THROWS_WITH_AS(p.view({6, 4}),
                       "view: shape [3, 2, 4] with strides [4, 12, 1] cannot be viewed as [6, 4] without a copy "
                       "(use reshape)",
                       Error);
  const Tensor r = p.reshape({6, 4});
  CHECK(r.storage() != base.storage());
  ref::check_close(
      r, {6, 4},
      [&](const Index& i) {
        return ref::read(p, {i[0] / 2, i[0] % 2, i[1]});
      },
      0, 0, "reshape copy");
  CHECK_THROWS_WITH_AS(base.view({5, 5}), "view: cannot view shape [2, 3, 4] (24 elements) as [5, 5] (25 elements)",
                       Error);
  CHECK_THROWS_WITH_AS(base.view({-1, -1}), "view: only one size may be -1, got [-1, -1]", Error);
  CHECK(zeros({0, 3}).view({3, 0, 5}).numel() == 0);
}

TEST_CASE("contiguous, clone, to(dtype) and copy_ move the right values") {
  const Tensor base = ref::make_input({3, 4, 5}, DType::f64, ref::Layout::transposed, 3);
  const Tensor c = base.contiguous();
  CHECK(c.is_contiguous());
  ref::check_close(
      c, base.shape(), [&](const Index& i) { return ref::read(base, i); }, 0, 0, "contiguous");
  CHECK(c.contiguous().storage() == c.storage());  // already contiguous: no copy
  const Tensor cl = c.clone();
  CHECK(cl.storage() != c.storage());

  const Tensor f = base.to(DType::f32);
  CHECK(f.dtype() == DType::f32);
  ref::check_close(
      f, base.shape(), [&](const Index& i) { return double(float(ref::read(base, i))); }, 0, 0, "to f32");
  const Tensor ints = tensor({-1.7, 0.2, 2.9}).to(DType::i64);
  CHECK(ints.to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 2});
  const Tensor mask = tensor({0, 0.5, -2}).to(DType::b8);
  CHECK(mask.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1});

  Tensor dst = zeros({4, 3});
  dst.copy_(tensor({1, 2, 3}));  // broadcasts over rows
  CHECK(dst.to_vector<float>() == std::vector<float>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
  const uint64_t v0 = dst.version();
  Tensor col = dst.select(1, 0);
  col.fill_(7);
  CHECK(dst.version() > v0);  // a write through a view bumps the shared version
  CHECK(dst.to_vector<float>()[3] == 7);
  Tensor tr = zeros({3, 4}).mT();
  tr.copy_(dst);
  CHECK(tr.to_vector<float>() == dst.to_vector<float>());

  Tensor expanded = tensor({1, 2}).expand({3, 2});
  CHECK_THROWS_WITH_AS(expanded.fill_(0), "fill_: tensor of shape [3, 2] has overlapping elements", Error);
  CHECK_THROWS_WITH_AS(dst.copy_(zeros({5})),
                       "copy_: source of shape [5] does not broadcast to destination shape [4, 3]", Error);
}

TEST_CASE("large transposed copies take the tiled path and stay exact") {
  for (DType dt : {DType::f32, DType::f64, DType::i32}) {
    const Tensor x = ref::make_input({3, 130, 70}, dt, ref::Layout::transposed, 9, -100, 100);
    ref::check_close(
        x.contiguous(), x.shape(), [&](const Index& i) { return ref::read(x, i); }, 0, 0, "tiled copy");
    const Tensor y = arange(0, 300 * 200, 1, dt).view({300, 200}).permute({1, 0});
    ref::check_close(
        y.contiguous().to(DType::f64), y.shape(), [&](const Index& i) { return double(i[1] * 200 + i[0]); }, 0, 0,
        "transpose 200x300");
  }
}

TEST_CASE("creation functions") {
  CHECK(zeros({2, 2}).to_vector<float>() == std::vector<float>(4, 0));
  CHECK(ones({3}, DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 1, 1});
  CHECK(full({2}, 2.5, DType::f64).to_vector<double>() == std::vector<double>{2.5, 2.5});
  CHECK(arange(5).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(1, 2, 0.25).to_vector<float>() == std::vector<float>{1, 1.25, 1.5, 1.75});
  CHECK(arange(3, 0, -1, DType::i32).to_vector<int32_t>() == std::vector<int32_t>{3, 2, 1});
  CHECK(arange(0, 0).numel() == 0);
  CHECK(linspace(0, 1, 5).to_vector<float>() == std::vector<float>{0, 0.25, 0.5, 0.75, 1});
  CHECK(eye(3).to_vector<float>() == std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1});
  CHECK(eye(2, 3, DType::i64).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 0, 1, 0});
  CHECK(from_vector(std::vector<int32_t>{1, 2, 3, 4}, {2, 2}).dtype() == DType::i32);
  CHECK(scalar(3.5).item() == 3.5);
  CHECK(tensor({1, 2, 3, 4, 5, 6}, {2, 3}).shape() == Shape{2, 3});
  CHECK_THROWS_WITH_AS(from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
                       "from_vector: 3 values do not fill shape [2, 2]", Error);
  CHECK_THROWS_WITH_AS(arange(0, 1, 0), "arange: need finite start, end and a non-zero step, got (0, 1, 0)", Error);
  CHECK_THROWS_WITH_AS(zeros({2, -1}), "empty: negative size in shape [2, -1]", Error);
  CHECK_THROWS_WITH_AS(zeros({2}).item(), "item: tensor of shape [2] has 2 elements, not 1", Error);
}

TEST_CASE("fmt prints shape, dtype and abbreviated values") {
  CHECK(fmt::format("{}", tensor({1, 2, 3, 4, 5, 6}, {2, 3})) == "Tensor([2, 3], f32) [[1, 2, 3], [4, 5, 6]]");
  CHECK(fmt::format("{}", arange(10)) == "Tensor([10], i64) [0, 1, 2, ..., 7, 8, 9]");
  CHECK(fmt::format("{}", scalar(0.5, DType::f64)) == "Tensor([], f64) 0.5");
  CHECK(fmt::format("{}", zeros({0, 2})) == "Tensor([0, 2], f32) []");
  CHECK(fmt::format("{}", Shape{4, 5}) == "[4, 5]");
  CHECK(fmt::format("{} {}", DType::b8, Device::cuda) == "b8 cuda");
  CHECK(gt(tensor({1, 2}), 1.5).to_string() == "Tensor([2], b8) [0, 1]");
}

TEST_CASE("axis and shape errors name the op") {
  const Tensor t = zeros({2, 3});
  CHECK_THROWS_WITH_AS(t.transpose(0, 2), "transpose: axis 2 is out of range for a tensor with 2 dimensions", Error);
  CHECK_THROWS_WITH_AS(t.permute({0, 0}), "permute: axes [0, 0] repeat axis 0", Error);
  CHECK_THROWS_WITH_AS(t.permute({0}), "permute: 1 axes given for a tensor of shape [2, 3]", Error);
  CHECK_THROWS_WITH_AS(t.squeeze(1), "squeeze: axis 1 of shape [2, 3] has size 3, not 1", Error);
  CHECK_THROWS_WITH_AS(t.expand({4, 3}), "expand: shape [2, 3] cannot be broadcast to [4, 3]", Error);
  CHECK_THROWS_WITH_AS(t.narrow(1, 2, 2), "narrow: [2, 4) is out of range for axis 1 of shape [2, 3]", Error);
  CHECK_THROWS_WITH_AS(t.select(0, 2), "select: index 2 is out of range for axis 0 of shape [2, 3]", Error);
  CHECK_THROWS_WITH_AS(t.slice(0, 0, 1, 0), "slice: step must be positive, got 0", Error);
  CHECK_THROWS_WITH_AS(t.data<double>(), "data<f64>: tensor has dtype f32", Error);
  CHECK_THROWS_WITH_AS(zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}), "shape: at most 8 dimensions are supported, got 9", Error);
}

TEST_CASE("CUDA tensors give a clear error without a GPU") {
  if (cuda_available()) {
    MESSAGE("a GPU is present; the no-GPU error path is not exercised here");
    return;
  }
  // Built without CUDA, or built with it on a machine without a GPU: either message names CUDA tensors.
  CHECK_THROWS_WITH_AS(zeros({2}, DType::f32, Device::cuda), doctest::Contains("CUDA tensor"), Error);
  CHECK_THROWS_WITH_AS(zeros({2}).to(Device::cuda), doctest::Contains("CUDA tensor"), Error);
  try {
    zeros({2}).to(Device::cuda);
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK((msg.find("built without CUDA") != std::string::npos || msg.find("no GPU") != std::string::npos));
  }
}

TEST_CASE("every available backend has its memory entries and every kernel of the list") {
  const std::vector<Device> devices = available_devices();
  REQUIRE_FALSE(devices.empty());
  CHECK(devices.front() == Device::cpu);
  for (Device d : devices) {
    const Backend& b = backend(d);
    CHECK(b.name == device_name(d));
    CHECK((b.raw_alloc != nullptr && b.raw_free != nullptr && b.synchronize != nullptr));
    CHECK((b.copy_to_host != nullptr && b.copy_from_host != nullptr));
#define GL_CHECK_BACKEND_KERNEL(k) CHECK_MESSAGE((b.k != nullptr), b.name, " has no kernel ", #k);
    GL_KERNEL_LIST(GL_CHECK_BACKEND_KERNEL)
#undef GL_CHECK_BACKEND_KERNEL
  }
}

TEST_CASE("a second table for one device is refused") {
  CHECK_THROWS_WITH_AS(register_backend(Device::cpu, &backend(Device::cpu)),
                       "register_backend: a second cpu backend (cpu after cpu)", Error);
}

TEST_CASE("mul_ scales in place with mul's numbers, through views, on every backend") {
  Generator gen(4);
  auto values = [](const Tensor& t) { return t.to(Device::cpu).to(DType::f64).contiguous().to_vector<double>(); };
  for (Device device : {Device::cpu, Device::ref}) {
    CAPTURE(device);
    for (DType dtype : {DType::f32, DType::f64, DType::i64}) {
      const Tensor x = (dtype == DType::i64 ? randint(-9, 9, {37, 41}, gen) : randn({37, 41}, gen, dtype)).to(device);
      const Tensor expected = mul(x, 0.3).to(Device::cpu);
      Tensor y = x.clone();
      const uint64_t v = y.version();
      CHECK(&y.mul_(0.3) == &y);
      CHECK(y.version() > v);
      CHECK(values(y) == values(expected));
      // A strided view: only its elements change.
      Tensor z = x.clone();
      Tensor every_other = z.slice(1, 0, 41, 2);
      every_other.mul_(-2.0);
      const Tensor z_cpu = z.to(Device::cpu), x_cpu = x.to(Device::cpu);
      CHECK(values(z_cpu.slice(1, 0, 41, 2)) == values(mul(x_cpu.slice(1, 0, 41, 2), -2.0)));
      CHECK(values(z_cpu.slice(1, 1, 41, 2)) == values(x_cpu.slice(1, 1, 41, 2)));
    }
  }
  Tensor wide = zeros({3}).expand({4, 3});
  CHECK_THROWS_WITH_AS(wide.mul_(2.0), doctest::Contains("mul_: tensor of shape [4, 3] has overlapping elements"),
                       Error);
}
