// Printing tensors for people: values with up to 6 significant digits, long
// axes abbreviated to their first and last kEdge entries.
#include "tensor/tensor.h"

namespace gradlab {

namespace {

constexpr int64_t kEdge = 3;        // entries kept at each end of a long axis
constexpr int64_t kAbbreviate = 8;  // axes longer than this are abbreviated

void format_values(const Tensor& t, const std::vector<double>& v, int axis, int64_t base, std::string& out) {
  if (t.dim() == 0) {
    out += fmt::format("{:.6g}", v[0]);
    return;
  }
  const int64_t n = t.shape()[axis];
  int64_t stride = 1;
  for (int i = axis + 1; i < t.dim(); ++i) stride *= t.shape()[i];
  out += "[";
  for (int64_t i = 0; i < n; ++i) {
    if (n > kAbbreviate && i == kEdge) {
      out += "..., ";
      i = n - kEdge;
    }
    if (axis + 1 == t.dim())
      out += fmt::format("{:.6g}", v[base + i]);
    else
      format_values(t, v, axis + 1, base + i * stride, out);
    if (i + 1 < n) out += ", ";
  }
  out += "]";
}

}  // namespace

std::string format_tensor(const Tensor& t) {
  if (!t.defined()) return "Tensor(undefined)";
  std::string out = fmt::format("Tensor({}, {}", t.shape(), t.dtype());
  if (t.device() != Device::cpu) out += fmt::format(", {}", t.device());
  out += ") ";
  format_values(t, t.to_vector<double>(), 0, 0, out);
  return out;
}

}  // namespace gradlab
