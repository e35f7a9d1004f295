// nn/safetensors: bit-exact round trips of every dtype (0-d, size-0 and
// non-contiguous tensors, metadata), the header length and padding, one small
// file checked byte by byte, atomic saves, a table of corrupted files that must
// each give a gradlab::Error naming the problem, a seeded corruption fuzz, and
// (when Debian's python3 has numpy) files exchanged with a few lines of Python.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "nn/json.h"
#include "nn/safetensors.h"
#include "tensor/device.h"
#include "tensor/ops.h"

using namespace gradlab;
namespace fs = std::filesystem;

namespace {

using Named = std::vector<std::pair<std::string, Tensor>>;

// A scratch folder owned by this test process, removed when it exits.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    path = fs::temp_directory_path() / fmt::format("gradlab_test_nn_{}", ::getpid());
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string scratch_file(const std::string& name) {
  static ScratchDir dir;
  return (dir.path / name).string();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  // Removed first: some filesystems flush a truncated-and-rewritten file to disk on close.
  fs::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  REQUIRE(out.good());
}

std::string le64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[size_t(i)] = char(uint8_t(v >> (8 * i)));
  return s;
}

uint64_t read_le64(const std::string& bytes) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(bytes[size_t(i)]);
  return v;
}

// A file with this (unpadded) header text followed by these data bytes.
void write_raw(const std::string& path, const std::string& header, const std::string& data) {
  write_file(path, le64(header.size()) + header + data);
}

// Same dtype, same shape and the same bytes in C order.
bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || !(a.shape() == b.shape())) return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  const size_t nbytes = size_t(a.numel()) * a.itemsize();
  return nbytes == 0 || std::memcmp(ca.data_ptr(), cb.data_ptr(), nbytes) == 0;
}

Tensor bools(const std::vector<int>& values) {
  Tensor t = Tensor::empty({int64_t(values.size())}, DType::b8);
  for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i] != 0;
  return t;
}

int temporaries_of(const std::string& path) {
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".tmp.";
  int n = 0;
  for (const auto& entry : fs::directory_iterator(p.parent_path()))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) ++n;
  return n;
}

// Every kind of tensor the format must carry exactly.
Named zoo() {
  const float nan_payload = std::bit_cast<float>(0x7fc01234u);
  const float inf = std::numeric_limits<float>::infinity();
  Named t;
  t.emplace_back("f32", from_vector<float>({0.5f, -0.0f, inf, -inf, nan_payload, 1e-45f}, {2, 3}));
  t.emplace_back("f64", from_vector<double>({1.0 / 3.0, -1e308, 5e-324, std::nan("7")}, {2, 2}));
  t.emplace_back(
      "i32", from_vector<int32_t>(
                 {std::numeric_limits<int32_t>::min(), -1, 0, 1, std::numeric_limits<int32_t>::max(), 42}, {3, 1, 2}));
  t.emplace_back("i64",
                 from_vector<int64_t>({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}));
  t.emplace_back("b8", bools({1, 0, 1, 1, 0}));
  t.emplace_back("scalar_f64", scalar(3.25, DType::f64));
  t.emplace_back("scalar_i32", scalar(-7, DType::i32));
  t.emplace_back("empty_f32", zeros({0, 3}));
  t.emplace_back("empty_i64", zeros({2, 0, 4}, DType::i64));
  t.emplace_back("empty_b8", Tensor::empty({0}, DType::b8));
  t.emplace_back("transposed", arange(0, 12, 1, DType::f32).view({3, 4}).transpose(0, 1));
  t.emplace_back("strided", arange(0, 20, 1, DType::i64).view({4, 5}).slice(1, 1, 5, 2));
  t.emplace_back("expanded", tensor({1, 2, 3}, {3}, DType::f64).unsqueeze(0).expand({2, 3}));
  t.emplace_back("offset_view", arange(0, 10, 1, DType::f32).narrow(0, 3, 4));
  t.emplace_back("b8_strided", bools({1, 0, 0, 1, 1, 1}).slice(0, 0, 6, 2));
  t.emplace_back("bf16_transposed", from_vector<float>({1.5f, -0.0f, inf, 3.14159f}, {2, 2}).to(DType::bf16).mT());
  return t;
}

}  // namespace

TEST_CASE("safetensors: every dtype, 0-d, size-0 and non-contiguous tensors round-trip bit-exactly") {
  const std::string path = scratch_file("zoo.safetensors");
  const Named tensors = zoo();
  REQUIRE_FALSE(tensors[10].second.is_contiguous());  // the views really are views
  REQUIRE_FALSE(tensors[11].second.is_contiguous());
  REQUIRE_FALSE(tensors[12].second.is_contiguous());
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "caf\xc3\xa9 \"quoted\"\n\ttab \\ slash"}, {"empty", ""}};
  save_safetensors(path, tensors, metadata);

  const SafetensorsFile file = load_safetensors(path);
  CHECK(file.metadata == metadata);
  REQUIRE(file.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CAPTURE(tensors[i].first);
    CHECK(file.tensors[i].first == tensors[i].first);  // the order is kept
    const Tensor& got = file.tensors[i].second;
    CHECK(got.is_cpu());
    CHECK(got.is_contiguous());
    CHECK(got.dim() == tensors[i].second.dim());
    CHECK(same_bits(got, tensors[i].second));
    CHECK(same_bits(file.at(tensors[i].first), tensors[i].second));
  }
  // Spot checks by value, independent of same_bits.
  CHECK(std::bit_cast<uint32_t>(file.at("f32").data<float>()[4]) == 0x7fc01234u);
  CHECK(std::signbit(file.at("f32").data<float>()[1]));
  CHECK(file.at("transposed").to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  CHECK(file.at("strided").to_vector<int64_t>() == std::vector<int64_t>{1, 3, 6, 8, 11, 13, 16, 18});
  CHECK(file.at("scalar_i32").dim() == 0);
  CHECK(file.at("scalar_i32").item<int32_t>() == -7);
  CHECK(file.at("empty_i64").shape() == Shape{2, 0, 4});
  CHECK(file.at("b8_strided").shape() == Shape{3});
  CHECK(file.at("b8_strided").data<bool>()[1] == false);
  CHECK(file.at("b8_strided").data<bool>()[2] == true);
  CHECK(file.at("bf16_transposed").dtype() == DType::bf16);
  CHECK(file.at("bf16_transposed").to_vector<float>() == std::vector<float>{1.5f, std::numeric_limits<float>::infinity(), -0.0f, 3.140625f});

  // The loaded tensors own fresh storage.
  for (const auto& [name, t] : file.tensors)
    for (const auto& [name2, src] : tensors) CHECK(t.storage() != src.storage());

  CHECK_THROWS_WITH_AS(file.at("nope"), doctest::Contains("no tensor named 'nope'"), Error);
  CHECK_THROWS_WITH_AS(file.at("nope"), doctest::Contains("'f32', 'f64'"), Error);
}

TEST_CASE("safetensors: the header length is little-endian, the header padded with spaces to 8 bytes") {
  // Names of growing length walk the header size through every remainder mod 8.
  for (int len = 1; len <= 9; ++len) {
    const std::string name(size_t(len), 'n');
    const std::string path = scratch_file("pad.safetensors");
    save_safetensors(path, {{name, from_vector<int32_t>({1, 2, 3})}, {"b", from_vector<double>({0.25})}});
    const std::string bytes = read_file(path);
    REQUIRE(bytes.size() >= 8);
    const uint64_t n = read_le64(bytes);
    CAPTURE(len);
    CAPTURE(n);
    CHECK(n % 8 == 0);
    REQUIRE(8 + n <= bytes.size());
    CHECK(bytes.size() - 8 - n == 12 + 8);  // the data region holds exactly the two tensors
    const std::string header = bytes.substr(8, n);
    const size_t json_end = header.find_last_not_of(' ') + 1;
    CHECK(n - json_end < 8);             // at most 7 padding spaces
    CHECK(header[json_end - 1] == '}');  // the padding follows the closing brace
    const Json h = Json::parse(header.substr(0, json_end));
    CHECK(h.find(name)->find("data_offsets")->dump() == "[0,12]");
    CHECK(h.find("b")->find("data_offsets")->dump() == "[12,20]");
    CHECK(h.find("__metadata__") == nullptr);  // written only when there is metadata
    CHECK(load_safetensors(path).at(name).to_vector<int32_t>() == std::vector<int32_t>{1, 2, 3});
  }
}

TEST_CASE("safetensors: one small file matches a hand-computed layout byte by byte") {
  const std::string path = scratch_file("exact.safetensors");
  save_safetensors(path, {{"a", from_vector<float>({1.0f, -2.0f})}, {"b", scalar(7, DType::i64)}}, {{"k", "v"}});
  // 16 ({"__metadata__":) + 9 ({"k":"v"}) + 1 + 4 ("a":) + 15 ({"dtype":"F32",) + 12 ("shape":[2],)
  // + 21 ("data_offsets":[0,8]}) + 1 + 4 + 15 + 11 ("shape":[],) + 22 ("data_offsets":[8,16]}) + 1 = 132,
  // padded with 4 spaces to 136 = 0x88.
  const std::string json = R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})";
  REQUIRE(json.size() == 132);
  const std::string expected = std::string("\x88\0\0\0\0\0\0\0", 8) + json + "    " +
                               std::string("\x00\x00\x80\x3f", 4) +   // 1.0f
                               std::string("\x00\x00\x00\xc0", 4) +   // -2.0f
                               std::string("\x07\0\0\0\0\0\0\0", 8);  // int64 7
  REQUIRE(expected.size() == 160);
  CHECK(read_file(path) == expected);
}

TEST_CASE("safetensors: describe lists tensors, dtypes, shapes, byte sizes and metadata") {
  const std::string path = scratch_file("describe.safetensors");
  save_safetensors(path, {{"w", zeros({2, 3})}, {"step", scalar(5, DType::i64)}, {"m", bools({1, 0})}},
                   {{"format", "pt"}});
  const std::string d = describe_safetensors(path);
  CHECK(d.find("3 tensors, 34 data bytes") != std::string::npos);
  CHECK(d.find("  w F32 [2, 3] 24 bytes [0, 24)\n") != std::string::npos);
  CHECK(d.find("  step I64 [] 8 bytes [24, 32)\n") != std::string::npos);
  CHECK(d.find("  m BOOL [2] 2 bytes [32, 34)\n") != std::string::npos);
  CHECK(d.find("  metadata format = pt\n") != std::string::npos);
  write_file(path, "short");
  CHECK_THROWS_WITH_AS(describe_safetensors(path), doctest::Contains("describe_safetensors: '"), Error);
}

TEST_CASE("safetensors: saving is atomic") {
  const std::string path = scratch_file("atomic.safetensors");
  save_safetensors(path, {{"x", ones({3})}});
  CHECK(temporaries_of(path) == 0);
  const std::string before = read_file(path);

  // A save refused before writing leaves the old file as it was.
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"x", ones({3})}, {"x", zeros({2})}}),
                       doctest::Contains("duplicate tensor name 'x'"), Error);
  CHECK(read_file(path) == before);
  CHECK(temporaries_of(path) == 0);

  // A save that fails at the rename (the target is a folder) removes its temporary.
  const std::string folder = scratch_file("folder.safetensors");
  fs::create_directory(folder);
  CHECK_THROWS_WITH_AS(save_safetensors(folder, {{"x", ones({3})}}), doctest::Contains("Is a directory"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(folder, {{"x", ones({3})}}), doctest::Contains(folder.c_str()), Error);
  CHECK(temporaries_of(folder) == 0);
  CHECK(fs::is_directory(folder));

  // A save into a folder that does not exist creates nothing.
  const std::string nowhere = scratch_file("no_such_folder/x.safetensors");
  CHECK_THROWS_WITH_AS(save_safetensors(nowhere, {{"x", ones({3})}}), doctest::Contains("No such file or directory"),
                       Error);
  CHECK_FALSE(fs::exists(fs::path(nowhere).parent_path()));

  // A successful save replaces the whole file.
  save_safetensors(path, {{"y", zeros({100})}});
  const SafetensorsFile file = load_safetensors(path);
  REQUIRE(file.tensors.size() == 1);
  CHECK(file.tensors[0].first == "y");
  CHECK(temporaries_of(path) == 0);
}

TEST_CASE("safetensors: bad names and tensors are refused with clear errors") {
  const std::string path = scratch_file("names.safetensors");
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"", ones({1})}}), doctest::Contains("names must be non-empty"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"__metadata__", ones({1})}}),
                       doctest::Contains("\"__metadata__\" is reserved"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", ones({1})}, {"b", ones({1})}, {"a", ones({1})}}),
                       doctest::Contains("duplicate tensor name 'a'"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"u", Tensor()}}), doctest::Contains("tensor 'u' is undefined"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"bad\xff", ones({1})}}), doctest::Contains("invalid UTF-8"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"a", ones({1})}}, {{"k", "bad\xc3"}}),
                       doctest::Contains("invalid UTF-8"), Error);
  CHECK_FALSE(fs::exists(path));
  // Unusual but valid names and an empty file list are fine.
  save_safetensors(path, {{"layer.0/w q\"\\\n\xe2\x9c\x93", ones({1})}});
  CHECK(load_safetensors(path).tensors[0].first == "layer.0/w q\"\\\n\xe2\x9c\x93");
  save_safetensors(path, {});
  CHECK(read_file(path) == le64(8) + "{}      ");
  CHECK(load_safetensors(path).tensors.empty());
}

TEST_CASE("safetensors: truncated files and absurd header lengths are refused") {
  const std::string good = scratch_file("good.safetensors");
  save_safetensors(good, {{"a", ones({2, 2})}, {"b", from_vector<int64_t>({1, 2, 3})}}, {{"format", "pt"}});
  const std::string bytes = read_file(good);
  const size_t n = size_t(read_le64(bytes));
  REQUIRE(bytes.size() == 8 + n + 16 + 24);

  const std::string path = scratch_file("truncated.safetensors");
  struct Cut {
    size_t length;
    std::string message;
  };
  const std::string too_long = fmt::format("header length {} is larger than", n);
  const std::vector<Cut> cuts = {
      {0, "file is 0 bytes, shorter than the 8-byte header length field"},
      {1, "shorter than the 8-byte"},
      {7, "file is 7 bytes, shorter than the 8-byte"},
      {8, too_long + " the 0 bytes that follow it"},
      {9, too_long},
      {8 + n / 2, too_long},  // inside the header
      {8 + n - 1, too_long},
      {8 + n, "tensor 'a': data_offsets [0, 16] end beyond the data region of 0 bytes"},
      {8 + n + 1, "end beyond the data region of 1 bytes"},  // inside the data
      {8 + n + 16, "tensor 'b': data_offsets [16, 40] end beyond the data region of 16 bytes"},
      {bytes.size() - 1, "end beyond the data region of 39 bytes"},
  };
  for (const Cut& cut : cuts) {
    CAPTURE(cut.length);
    write_file(path, bytes.substr(0, cut.length));
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains(cut.message.c_str()), Error);
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains(("load_safetensors: '" + path + "': ").c_str()),
                         Error);
  }
  // Bytes appended after the last tensor belong to no tensor.
  write_file(path, bytes + "extra");
  CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("data bytes [40, 45) belong to no tensor"), Error);

  write_file(path, le64(uint64_t(1) << 63) + bytes.substr(8));
  CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("header length 9223372036854775808 is larger"), Error);
  write_file(path, le64(~uint64_t(0)) + bytes.substr(8));
  CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("header length 18446744073709551615"), Error);

  // A length within a (sparse) 100 MB file is still refused above the limit.
  write_file(path, le64(100'000'001));
  fs::resize_file(path, 100'000'100);
  CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains("header length 100000001 is above the limit"), Error);
  fs::remove(path);

  CHECK_THROWS_WITH_AS(load_safetensors(scratch_file("missing.safetensors")),
                       doctest::Contains("cannot open: No such file or directory"), Error);
  CHECK_THROWS_WITH_AS(load_safetensors(fs::path(path).parent_path().string()), doctest::Contains("not a regular file"),
                       Error);
  // A named pipe is refused at once (opening it for reading would wait for a writer forever).
  const std::string fifo = scratch_file("pipe.safetensors");
  fs::remove(fifo);
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(load_safetensors(fifo), doctest::Contains("not a regular file"), Error);
  fs::remove(fifo);
}

TEST_CASE("safetensors: corrupted headers give errors naming the problem") {
  struct Case {
    std::string header;
    std::string data;
    std::string message;
  };
  const auto f32 = [](const std::string& shape, const std::string& offsets) {
    return fmt::format(R"({{"dtype":"F32","shape":{},"data_offsets":{}}})", shape, offsets);
  };
  const std::string z8(8, '\0'), z12(12, '\0');
  const std::vector<Case> cases = {
      {R"({"a":)" + f32("[2]", "[0,8]") + R"(,"b":)" + f32("[2]", "[4,12]") + "}", z12,
       "tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
      {R"({"a":)" + f32("[2]", "[0,8]") + R"(,"b":)" + f32("[2]", "[0,8]") + "}", z8, "overlap"},
      {R"({"a":)" + f32("[4]", "[0,16]") + "}", z8, "tensor 'a': data_offsets [0, 16] end beyond the data region"},
      {R"({"a":)" + f32("[2]", "[8,0]") + "}", z8, "must be non-negative with begin <= end"},
      {R"({"a":)" + f32("[2]", "[-4,4]") + "}", z8, "data_offsets [-4, 4] must be non-negative"},
      {R"({"a":)" + f32("[2]", "[0]") + "}", z8, "\"data_offsets\" must be two integers [begin, end], got [0]"},
      {R"({"a":)" + f32("[2]", "[0,4,8]") + "}", z8, "must be two integers"},
      {R"({"a":)" + f32("[2]", "[0.0,8.0]") + "}", z8, "must be two integers"},
      {R"({"a":)" + f32("[2]", "\"0,8\"") + "}", z8, "must be two integers"},
      {R"({"a":{"dtype":"F8","shape":[2],"data_offsets":[0,8]}})", z8,
       "tensor 'a': unknown dtype \"F8\" (supported: F32, F64, I32, I64, BOOL, BF16)"},
      {R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", z8, "dtype F16 is not supported by gradlab"},
      {R"({"a":{"dtype":"U16","shape":[4],"data_offsets":[0,8]}})", z8, "not supported"},
      {R"({"a":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", z8, "unknown dtype \"f32\""},
      {R"({"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}})", z8, "\"dtype\" must be a string, got integer"},
      {R"({"a":{"shape":[2],"data_offsets":[0,8]}})", z8, "tensor 'a' has no \"dtype\""},
      {R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", z8, "tensor 'a' has no \"shape\""},
      {R"({"a":{"dtype":"F32","shape":[2]}})", z8, "tensor 'a' has no \"data_offsets\""},
      {R"({"a":)" + f32("2", "[0,8]") + "}", z8, "\"shape\" must be an array, got integer"},
      {R"({"a":)" + f32("[-1]", "[0,8]") + "}", z8, "shape has negative size -1"},
      {R"({"a":)" + f32("[2.0]", "[0,8]") + "}", z8, "shape entries must be integers, got number"},
      {R"({"a":)" + f32("[4294967296,4294967296]", "[0,8]") + "}", z8, "overflows the size of a tensor"},
      {R"({"a":)" + f32("[0,4294967296,4294967296]", "[0,0]") + "}", "", "overflows"},
      {R"({"a":)" + f32("[1,1,1,1,1,1,1,1,1]", "[0,4]") + "}", std::string(4, '\0'),
       "shape has 9 dimensions, gradlab supports at most 8"},
      {R"({"a":)" + f32("[3]", "[0,8]") + "}", z8,
       "size mismatch: data_offsets [0, 8] hold 8 bytes but F32 [3] needs 12"},
      {R"({"a":{"dtype":"I64","shape":[],"data_offsets":[0,4]}})", std::string(4, '\0'), "size mismatch"},
      {R"({"a":)", z8, "header is not valid JSON: json: expected a value, found end of input at byte 5"},
      {R"({"a":)" + f32("[2]", "[0,8]") + "}xyz", z8, "header is not valid JSON: json: unexpected 'x' after the value"},
      {R"({"a":)" + f32("[2]", "[0,8]") + R"(,"a":)" + f32("[2]", "[0,8]") + "}", z8, "duplicate key \"a\""},
      {std::string("{}\0\0\0\0\0\0", 8), "", "header is not valid JSON"},
      {"{\"a\xff\":1}", "", "invalid UTF-8"},
      {"[1,2]", "", "header is a JSON array, not an object"},
      {R"({"__metadata__":{"step":1}})", "", "metadata value for key 'step' must be a string, got integer"},
      {R"({"__metadata__":"pt"})", "", "\"__metadata__\" must be an object, got string"},
      {R"({"a":[1]})", "", "tensor 'a' must be described by an object, got array"},
      {R"({"a":)" + f32("[1]", "[0,4]") + "}", z8, "data bytes [4, 8) belong to no tensor"},
      {R"({"a":)" + f32("[1]", "[4,8]") + "}", z8, "data bytes [0, 4) belong to no tensor"},
      {R"({"a":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x01\x00\x02", 3),
       "tensor 'a': BOOL element 2 is byte 0x02, not 0 or 1"},
  };
  const std::string path = scratch_file("corrupt.safetensors");
  for (const Case& c : cases) {
    CAPTURE(c.header);
    write_raw(path, c.header, c.data);
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains(c.message.c_str()), Error);
    CHECK_THROWS_WITH_AS(load_safetensors(path), doctest::Contains(path.c_str()), Error);
  }
}

TEST_CASE("safetensors: files laid out differently from ours still load") {
  const std::string path = scratch_file("foreign.safetensors");
  // Header order differs from data order, keys are in another order, an unknown
  // key is ignored, a size-0 tensor sits inside another's range, and the
  // header has whitespace and no padding.
  const std::string header =
      "{ \"b\": {\"data_offsets\": [8, 12], \"shape\": [1], \"dtype\": \"I32\", \"extra\": true},\n"
      "  \"__metadata__\": {\"format\": \"np\"},\n"
      "  \"e\": {\"dtype\": \"F64\", \"shape\": [0, 5], \"data_offsets\": [4, 4]},\n"
      "  \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]} }";
  std::string data(12, '\0');
  const float a[2] = {1.5f, -3.0f};
  const int32_t b = -123456;
  std::memcpy(data.data(), a, 8);
  std::memcpy(data.data() + 8, &b, 4);
  write_raw(path, header, data);
  const SafetensorsFile file = load_safetensors(path);
  REQUIRE(file.tensors.size() == 3);
  CHECK(file.tensors[0].first == "b");
  CHECK(file.tensors[1].first == "e");
  CHECK(file.tensors[2].first == "a");
  CHECK(file.at("a").to_vector<float>() == std::vector<float>{1.5f, -3.0f});
  CHECK(file.at("b").to_vector<int32_t>() == std::vector<int32_t>{-123456});
  CHECK(file.at("e").shape() == Shape{0, 5});
  CHECK(file.at("e").dtype() == DType::f64);
  CHECK(file.metadata.at("format") == "np");
}

TEST_CASE("safetensors: randomly corrupted files load or throw gradlab::Error, never crash") {
  const std::string good = scratch_file("fuzz_base.safetensors");
  save_safetensors(good,
                   {{"w", from_vector<float>({1, 2, 3, 4}, {2, 2})},
                    {"m", bools({1, 0, 1})},
                    {"i", from_vector<int64_t>({5, 6})},
                    {"z", zeros({0})}},
                   {{"format", "pt"}});
  const std::string bytes = read_file(good);
  const std::string path = scratch_file("fuzz.safetensors");
  std::mt19937_64 rng(99);
  int loaded = 0, refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = bytes;
    const int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = rng() % s.size();
      // Replace a byte by any byte or by a JSON-ish one, truncate, or insert.
      const uint64_t how = rng() % 4;
      if (how == 0)
        s[at] = char(rng());
      else if (how == 1)
        s[at] = "{}[]\":,0123456789-e. FIBL"[rng() % 25];
      else if (how == 2)
        s.resize(at);
      else
        s.insert(s.begin() + long(at), char(rng()));
    }
    write_file(path, s);
    try {
      const SafetensorsFile f = load_safetensors(path);
      ++loaded;
      for (const auto& [name, t] : f.tensors) CHECK(t.is_contiguous());
    } catch (const Error&) {
      ++refused;
    }
  }
  CHECK(loaded > 50);  // flips inside float data still load
  CHECK(refused > 1000);
}

TEST_CASE("safetensors: CUDA tensors are written from their CPU copy") {
  if (!cuda_available()) {
    MESSAGE("skipped: no GPU (or a build without CUDA)");
    return;
  }
  const Tensor host = arange(0, 12, 1, DType::f32).view({3, 4});
  const std::string path = scratch_file("cuda.safetensors");
  save_safetensors(path, {{"dense", host.to(Device::cuda)}, {"transposed", host.to(Device::cuda).transpose(0, 1)}});
  const SafetensorsFile file = load_safetensors(path);
  CHECK(file.at("dense").is_cpu());
  CHECK(same_bits(file.at("dense"), host));
  CHECK(same_bits(file.at("transposed"), host.transpose(0, 1)));
}

TEST_CASE("safetensors: Python (struct + json + numpy) reads our files and writes files we read") {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not available");
    return;
  }
  const std::string ours = scratch_file("to_python.safetensors");
  save_safetensors(
      ours,
      {{"w", tensor({0.5, -1.25, 2, 3, 4.5, -6}, {2, 3}).transpose(0, 1)},
       {"steps", from_vector<int64_t>({std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()})},
       {"mask", bools({1, 0, 1})},
       {"x", scalar(0.1, DType::f64)},
       {"ids", from_vector<int32_t>({1, -2, 3, -4}, {2, 2})},
       {"none", zeros({0})}},
      {{"format", "pt"}, {"who", "gradlab"}});
  const std::string theirs = scratch_file("from_python.safetensors");
  const std::string script_path = scratch_file("interop.py");
  // Reads the file named first, checks the layout rules and prints every
  // tensor; then writes a file of its own to the second name.
  write_file(script_path, R"(import json, struct, sys
import numpy as np
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
assert n % 8 == 0 and raw[8 + n - 1:8 + n] in (b'}', b' ')
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
types = {'F32': '<f4', 'F64': '<f8', 'I32': '<i4', 'I64': '<i8', 'BOOL': '?'}
meta = header.pop('__metadata__', {})
for k in sorted(meta):
    print('meta', k, meta[k])
end = 0
for name, info in header.items():
    b, e = info['data_offsets']
    assert b == end
    end = e
    a = np.frombuffer(data[b:e], dtype=types[info['dtype']]).reshape(info['shape'])
    print(name, a.dtype.name, list(a.shape), a.flatten().tolist())
assert end == len(data)
arrays = [('h', np.arange(6, dtype='<f8').reshape(2, 3) / 4), ('k', np.array([7, -8], dtype='<i4')),
          ('flags', np.array([False, True])), ('c', np.array(2**40, dtype='<i8'))]
out, offset, blobs = {'__metadata__': {'by': 'numpy'}}, 0, []
codes = {'float64': 'F64', 'int32': 'I32', 'bool': 'BOOL', 'int64': 'I64'}
for name, a in arrays:
    blob = a.tobytes()
    out[name] = {'dtype': codes[a.dtype.name], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(blob)]}
    offset += len(blob)
    blobs.append(blob)
text = json.dumps(out).encode('utf-8')
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
)");
  const std::string command = fmt::format("/usr/bin/python3 '{}' '{}' '{}' 2>&1", script_path, ours, theirs);
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, got);
  const int status = ::pclose(pipe);
  CAPTURE(output);
  REQUIRE(status == 0);
  CHECK(output ==
        "meta format pt\n"
        "meta who gradlab\n"
        "w float32 [3, 2] [0.5, 3.0, -1.25, 4.5, 2.0, -6.0]\n"
        "steps int64 [3] [-9223372036854775808, 0, 9223372036854775807]\n"
        "mask bool [3] [True, False, True]\n"
        "x float64 [] [0.1]\n"
        "ids int32 [2, 2] [1, -2, 3, -4]\n"
        "none float32 [0] []\n");

  const SafetensorsFile file = load_safetensors(theirs);
  CHECK(file.metadata.at("by") == "numpy");
  REQUIRE(file.tensors.size() == 4);
  CHECK(file.at("h").shape() == Shape{2, 3});
  CHECK(file.at("h").to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75, 1, 1.25});
  CHECK(file.at("k").to_vector<int32_t>() == std::vector<int32_t>{7, -8});
  CHECK(file.at("flags").data<bool>()[0] == false);
  CHECK(file.at("flags").data<bool>()[1] == true);
  CHECK(file.at("c").dim() == 0);
  CHECK(file.at("c").item<int64_t>() == int64_t(1) << 40);
}
