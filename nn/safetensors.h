// Checkpoints in the safetensors format: an 8-byte little-endian header length
// N, N bytes of JSON ({"__metadata__": {...}, "name": {"dtype", "shape",
// "data_offsets"}, ...}) padded with spaces to a multiple of 8, then the raw
// little-endian tensor bytes. Saving is atomic (temporary file, fsync, rename);
// loading validates every field and names the file in each error.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace gradlab {

// Writes `tensors` (packed in the given order; non-contiguous and CUDA tensors
// are written as their contiguous CPU copy) and string metadata to `path`.
// Names must be unique and non-empty; "__metadata__" is reserved. The file
// appears complete or not at all: on failure the previous file at `path` is
// untouched and the temporary (path + ".tmp.<pid>") is removed.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  std::vector<std::pair<std::string, Tensor>> tensors;  // in the header's order
  std::map<std::string, std::string> metadata;
  // The tensor called `name`; throws naming it when there is none.
  const Tensor& at(const std::string& name) const;
};

// Reads every tensor into a fresh contiguous CPU tensor. Supported dtypes are
// F32, F64, I32, I64 and BOOL; the byte ranges must tile the data region
// exactly (no overlaps, no unused bytes), as the format requires.
SafetensorsFile load_safetensors(const std::string& path);

// A human-readable summary of the header (validated as by load_safetensors,
// tensor data not read): one line per tensor with dtype, shape and byte size,
// then the metadata.
std::string describe_safetensors(const std::string& path);

}  // namespace gradlab
