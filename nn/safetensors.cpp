// Saving and loading safetensors files with plain stdio. The header is built and
// read as a Json value; loading validates the whole header (dtypes, shapes,
// offsets that tile the data region) before it allocates a single tensor, so a
// corrupt or hostile file gives a gradlab::Error naming the file and the field.
#include "nn/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string_view>

#include "nn/json.h"
#include "tensor/atomic_file.h"

namespace gradlab {

// The format stores little-endian bytes and we copy tensor memory as is.
static_assert(std::endian::native == std::endian::little, "safetensors: gradlab assumes a little-endian host");

namespace {

// The reference reader refuses headers above this size too; it bounds the
// memory a corrupt length field can make us allocate.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeCode {
  std::string_view code;
  DType dtype;
};
constexpr DTypeCode kDTypeCodes[] = {
    {"F32", DType::f32}, {"F64", DType::f64}, {"I32", DType::i32}, {"I64", DType::i64}, {"BOOL", DType::b8},
    {"BF16", DType::bf16}};
constexpr std::string_view kSupportedCodes = "F32, F64, I32, I64, BOOL, BF16";
// Dtypes the format defines that have no gradlab DType.
constexpr std::string_view kUnsupportedCodes[] = {"F16", "F8_E4M3", "F8_E5M2", "I8",
                                                  "U8",  "I16",  "U16",     "U32",     "U64",
                                                  "C64", "F4",   "F6_E2M3", "F6_E3M2", "F8_E8M0"};

std::string_view code_of(DType dt) {
  for (const DTypeCode& c : kDTypeCodes)
    if (c.dtype == dt) return c.code;
  fail("safetensors: dtype {} has no safetensors code", dtype_name(dt));
}

// "op: 'path': what".
template <class... Args>
[[noreturn]] void file_error(std::string_view op, const std::string& path, fmt::format_string<Args...> what,
                             Args&&... args) {
  fail("{}: '{}': {}", op, path, fmt::format(what, std::forward<Args>(args)...));
}

// ---------------------------------------------------------------- saving

// The temporary file of a save: once created, closed and removed on any exit
// before it is renamed into place.
struct PendingFile {
  std::string path;
  FILE* file = nullptr;
  bool created = false, committed = false;
  ~PendingFile() {
    if (file) std::fclose(file);
    if (created && !committed) std::remove(path.c_str());
  }
};

std::string build_header(const std::vector<std::pair<std::string, Tensor>>& tensors, const std::vector<Tensor>& host,
                         const std::map<std::string, std::string>& metadata) {
  Json::Object header;
  if (!metadata.empty()) {
    Json::Object meta;
    for (const auto& [key, value] : metadata) meta.emplace_back(key, Json(value));
    header.emplace_back("__metadata__", Json(std::move(meta)));
  }
  int64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = host[i];
    const int64_t nbytes = t.numel() * int64_t(t.itemsize());
    Json::Array shape;
    for (int64_t d : t.shape()) shape.emplace_back(d);
    Json::Object entry;
    entry.emplace_back("dtype", Json(std::string(code_of(t.dtype()))));
    entry.emplace_back("shape", Json(std::move(shape)));
    entry.emplace_back("data_offsets", Json(Json::Array{Json(offset), Json(offset + nbytes)}));
    header.emplace_back(tensors[i].first, Json(std::move(entry)));
    offset += nbytes;
  }
  std::string text = Json(std::move(header)).dump();
  // Pad with spaces so that the data region starts 8-byte aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

// Best effort: makes the rename itself durable. A failure here cannot undo
// the save, which has already happened, so it is not reported.
void sync_parent_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// ---------------------------------------------------------------- loading

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  int64_t begin, end;  // byte offsets into the data region
};

struct Header {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
  uint64_t header_bytes = 0;
  int64_t data_start = 0;  // file offset of the data region
  int64_t data_bytes = 0;
};

// Closes the file on every exit.
struct InputFile {
  FILE* file = nullptr;
  ~InputFile() {
    if (file) std::fclose(file);
  }
};

void read_exactly(FILE* f, void* dst, size_t nbytes, int64_t at, std::string_view op, const std::string& path,
                  std::string_view what) {
  if (nbytes == 0) return;
  if (::fseeko(f, off_t(at), SEEK_SET) != 0)
    file_error(op, path, "cannot seek to byte {} for {}: {}", at, what, std::strerror(errno));
  const size_t got = std::fread(dst, 1, nbytes, f);
  if (got != nbytes) {
    if (std::ferror(f)) file_error(op, path, "reading {} failed: {}", what, std::strerror(errno));
    file_error(op, path, "unexpected end of file reading {} ({} of {} bytes)", what, got, nbytes);
  }
}

DType parse_dtype(const Json& value, const std::string& name, std::string_view op, const std::string& path) {
  if (!value.is_string())
    file_error(op, path, "tensor '{}': \"dtype\" must be a string, got {}", name, json_kind_name(value.kind()));
  const std::string& code = value.as_string();
  for (const DTypeCode& c : kDTypeCodes)
    if (c.code == code) return c.dtype;
  for (std::string_view u : kUnsupportedCodes)
    if (u == code)
      file_error(op, path, "tensor '{}': dtype {} is not supported by gradlab (supported: {})", name, code,
                 kSupportedCodes);
  file_error(op, path, "tensor '{}': unknown dtype \"{}\" (supported: {})", name, code, kSupportedCodes);
}

// The shape, checked so that numel * itemsize (and every stride) fits in int64.
Shape parse_shape(const Json& value, const std::string& name, DType dtype, std::string_view op,
                  const std::string& path) {
  if (!value.is_array())
    file_error(op, path, "tensor '{}': \"shape\" must be an array, got {}", name, json_kind_name(value.kind()));
  const Json::Array& dims = value.as_array();
  if (dims.size() > size_t(kMaxDims))
    file_error(op, path, "tensor '{}': shape has {} dimensions, gradlab supports at most {}", name, dims.size(),
               kMaxDims);
  Shape shape;
  int64_t bytes = int64_t(dtype_size(dtype));  // product of max(d, 1), times the item size
  for (const Json& d : dims) {
    if (!d.is_int())
      file_error(op, path, "tensor '{}': shape entries must be integers, got {}", name, json_kind_name(d.kind()));
    const int64_t n = d.as_int();
    if (n < 0) file_error(op, path, "tensor '{}': shape has negative size {}", name, n);
    if (n > 1 && bytes > std::numeric_limits<int64_t>::max() / n)
      file_error(op, path, "tensor '{}': shape {} overflows the size of a tensor", name, value.dump());
    bytes *= std::max<int64_t>(n, 1);
    shape.push_back(n);
  }
  return shape;
}

Entry parse_entry(const std::string& name, const Json& value, int64_t data_bytes, std::string_view op,
                  const std::string& path) {
  if (!value.is_object())
    file_error(op, path, "tensor '{}' must be described by an object, got {}", name, json_kind_name(value.kind()));
  auto field = [&](std::string_view key) -> const Json& {
    const Json* v = value.find(key);
    if (!v) file_error(op, path, "tensor '{}' has no \"{}\"", name, key);
    return *v;
  };
  Entry e;
  e.name = name;
  e.dtype = parse_dtype(field("dtype"), name, op, path);
  e.shape = parse_shape(field("shape"), name, e.dtype, op, path);

  const Json& offsets = field("data_offsets");
  if (!offsets.is_array() || offsets.as_array().size() != 2 || !offsets.as_array()[0].is_int() ||
      !offsets.as_array()[1].is_int())
    file_error(op, path, "tensor '{}': \"data_offsets\" must be two integers [begin, end], got {}", name,
               offsets.dump());
  e.begin = offsets.as_array()[0].as_int();
  e.end = offsets.as_array()[1].as_int();
  if (e.begin < 0 || e.end < 0 || e.begin > e.end)
    file_error(op, path, "tensor '{}': data_offsets [{}, {}] must be non-negative with begin <= end", name, e.begin,
               e.end);
  if (e.end > data_bytes)
    file_error(op, path, "tensor '{}': data_offsets [{}, {}] end beyond the data region of {} bytes", name, e.begin,
               e.end, data_bytes);
  const int64_t need = e.shape.numel() * int64_t(dtype_size(e.dtype));
  if (e.end - e.begin != need)
    file_error(op, path, "tensor '{}': size mismatch: data_offsets [{}, {}] hold {} bytes but {} {} needs {}", name,
               e.begin, e.end, e.end - e.begin, code_of(e.dtype), e.shape, need);
  return e;
}

// The non-empty byte ranges must not overlap and, as the format requires (it
// rules out files that are also valid in some other format), must cover the
// data region with no gaps.
void check_tiling(const std::vector<Entry>& entries, int64_t data_bytes, std::string_view op, const std::string& path) {
  std::vector<const Entry*> ranges;
  for (const Entry& e : entries)
    if (e.end > e.begin) ranges.push_back(&e);
  std::sort(ranges.begin(), ranges.end(), [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  int64_t covered = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : ranges) {
    if (e->begin < covered)
      file_error(op, path, "tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev->name, prev->begin, prev->end,
                 e->name, e->begin, e->end);
    if (e->begin > covered)
      file_error(op, path, "data bytes [{}, {}) belong to no tensor (the format allows no gaps)", covered, e->begin);
    covered = e->end;
    prev = e;
  }
  if (covered != data_bytes)
    file_error(op, path, "data bytes [{}, {}) belong to no tensor (the format allows no gaps)", covered, data_bytes);
}

Header read_header(FILE* f, const std::string& path, std::string_view op) {
  struct stat st;
  if (::fstat(::fileno(f), &st) != 0) file_error(op, path, "cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) file_error(op, path, "not a regular file");
  const int64_t file_bytes = int64_t(st.st_size);
  if (file_bytes < 8) file_error(op, path, "file is {} bytes, shorter than the 8-byte header length field", file_bytes);

  unsigned char length_field[8];
  read_exactly(f, length_field, 8, 0, op, path, "the header length");
  Header h;
  for (int i = 7; i >= 0; --i) h.header_bytes = (h.header_bytes << 8) | length_field[i];
  if (h.header_bytes > uint64_t(file_bytes - 8))
    file_error(op, path, "header length {} is larger than the {} bytes that follow it", h.header_bytes, file_bytes - 8);
  if (h.header_bytes > kMaxHeaderBytes)
    file_error(op, path, "header length {} is above the limit of {} bytes", h.header_bytes, kMaxHeaderBytes);

  std::string text(h.header_bytes, '\0');
  read_exactly(f, text.data(), text.size(), 8, op, path, "the header");
  h.data_start = 8 + int64_t(h.header_bytes);
  h.data_bytes = file_bytes - h.data_start;

  Json header;
  try {
    header = Json::parse(text);
  } catch (const Error& e) {
    file_error(op, path, "header is not valid JSON: {}", e.what());
  }
  if (!header.is_object()) file_error(op, path, "header is a JSON {}, not an object", json_kind_name(header.kind()));

  for (const auto& [key, value] : header.as_object()) {
    if (key == "__metadata__") {
      if (!value.is_object())
        file_error(op, path, "\"__metadata__\" must be an object, got {}", json_kind_name(value.kind()));
      for (const auto& [mkey, mvalue] : value.as_object()) {
        if (!mvalue.is_string())
          file_error(op, path, "metadata value for key '{}' must be a string, got {}", mkey,
                     json_kind_name(mvalue.kind()));
        h.metadata.emplace(mkey, mvalue.as_string());
      }
      continue;
    }
    h.entries.push_back(parse_entry(key, value, h.data_bytes, op, path));
  }
  check_tiling(h.entries, h.data_bytes, op, path);
  return h;
}

FILE* open_for_reading(const std::string& path, std::string_view op) {
  // A named pipe would block the open until a writer appears: refuse anything but a regular file first.
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) file_error(op, path, "not a regular file");
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) file_error(op, path, "cannot open: {}", std::strerror(errno));
  return f;
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  constexpr std::string_view op = "save_safetensors";
  std::set<std::string> names;
  std::vector<Tensor> host;
  for (const auto& [name, t] : tensors) {
    if (name.empty()) file_error(op, path, "tensor names must be non-empty");
    if (name == "__metadata__") file_error(op, path, "the name \"__metadata__\" is reserved for the metadata");
    if (!names.insert(name).second) file_error(op, path, "duplicate tensor name '{}'", name);
    if (!t.defined()) file_error(op, path, "tensor '{}' is undefined", name);
    host.push_back(t.to(Device::cpu).contiguous());
  }
  std::string header;
  try {
    header = build_header(tensors, host, metadata);
  } catch (const Error& e) {
    file_error(op, path, "cannot write the header: {}", e.what());
  }

  PendingFile tmp;
  tmp.path = atomic_temp_path(path);
  tmp.file = std::fopen(tmp.path.c_str(), "wb");
  if (!tmp.file) file_error(op, path, "cannot create the temporary file '{}': {}", tmp.path, std::strerror(errno));
  tmp.created = true;
  auto write_bytes = [&](const void* src, size_t nbytes, std::string_view what) {
    if (nbytes > 0 && std::fwrite(src, 1, nbytes, tmp.file) != nbytes)
      file_error(op, path, "writing {} to '{}' failed: {}", what, tmp.path, std::strerror(errno));
  };

  unsigned char length_field[8];
  for (int i = 0; i < 8; ++i) length_field[i] = uint8_t(uint64_t(header.size()) >> (8 * i));
  write_bytes(length_field, 8, "the header length");
  write_bytes(header.data(), header.size(), "the header");
  for (size_t i = 0; i < host.size(); ++i)
    write_bytes(host[i].data_ptr(), size_t(host[i].numel()) * host[i].itemsize(),
                fmt::format("tensor '{}'", tensors[i].first));

  if (std::fflush(tmp.file) != 0) file_error(op, path, "flushing '{}' failed: {}", tmp.path, std::strerror(errno));
  if (::fsync(::fileno(tmp.file)) != 0)
    file_error(op, path, "fsync of '{}' failed: {}", tmp.path, std::strerror(errno));
  FILE* f = tmp.file;
  tmp.file = nullptr;
  if (std::fclose(f) != 0) file_error(op, path, "closing '{}' failed: {}", tmp.path, std::strerror(errno));
  if (std::rename(tmp.path.c_str(), path.c_str()) != 0)
    file_error(op, path, "renaming '{}' over it failed: {}", tmp.path, std::strerror(errno));
  tmp.committed = true;
  sync_parent_directory(path);
}

const Tensor& SafetensorsFile::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  std::string known;
  for (size_t i = 0; i < tensors.size() && i < 10; ++i) known += fmt::format("{}'{}'", i ? ", " : "", tensors[i].first);
  if (tensors.size() > 10) known += ", ...";
  fail("SafetensorsFile::at: no tensor named '{}' (the file holds {} tensors: {})", name, tensors.size(), known);
}

SafetensorsFile load_safetensors(const std::string& path) {
  constexpr std::string_view op = "load_safetensors";
  InputFile in{open_for_reading(path, op)};
  const Header h = read_header(in.file, path, op);
  SafetensorsFile out;
  out.metadata = h.metadata;
  for (const Entry& e : h.entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    const size_t nbytes = size_t(e.end - e.begin);
    read_exactly(in.file, t.data_ptr(), nbytes, h.data_start + e.begin, op, path, fmt::format("tensor '{}'", e.name));
    if (e.dtype == DType::b8) {
      // A C++ bool may only hold 0 or 1; any other byte is a corrupt file.
      const auto* bytes = static_cast<const unsigned char*>(t.data_ptr());
      for (size_t i = 0; i < nbytes; ++i)
        if (bytes[i] > 1)
          file_error(op, path, "tensor '{}': BOOL element {} is byte 0x{:02x}, not 0 or 1", e.name, i, bytes[i]);
    }
    out.tensors.emplace_back(e.name, std::move(t));
  }
  return out;
}

std::string describe_safetensors(const std::string& path) {
  constexpr std::string_view op = "describe_safetensors";
  InputFile in{open_for_reading(path, op)};
  const Header h = read_header(in.file, path, op);
  std::string out = fmt::format("{}: {} tensors, {} data bytes, {}-byte header\n", path, h.entries.size(), h.data_bytes,
                                h.header_bytes);
  for (const Entry& e : h.entries)
    out += fmt::format("  {} {} {} {} bytes [{}, {})\n", e.name, code_of(e.dtype), e.shape, e.end - e.begin, e.begin,
                       e.end);
  for (const auto& [key, value] : h.metadata) out += fmt::format("  metadata {} = {}\n", key, value);
  return out;
}

}  // namespace gradlab
