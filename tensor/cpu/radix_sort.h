// The CPU sort's long rows: a least-significant-digit radix sort of (value,
// index) pairs that gives exactly the order of the comparison sort in
// sort.cpp (ascending or descending, NaN last ascending and first
// descending, equal values -- -0 and +0 included -- in index order), in a
// few linear passes instead of n log n comparisons.
//
// Each value becomes an unsigned key whose integer order is the wanted order:
//   floats  +0 for both zeros, then the sign bit flipped for x >= 0 and every
//           bit flipped for x < 0 (so -inf < ... < -0 = +0 < ... < +inf),
//           every NaN the largest key;
//   ints    the sign bit flipped;
// descending flips every bit of the key (NaN then comes first). The passes
// go one byte at a time from the lowest, each a stable counting sort, so
// equal keys keep the index order they started in; a byte that is the same
// in every key is skipped.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

namespace gradlab::cpu {

// The unsigned key type of T (same width).
template <class T>
using RadixKey = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

// Scratch kept by a thread between sorts only up to this many entries: a
// sort of a huge row gives its memory back.
constexpr size_t kKeptScratchEntries = size_t(1) << 20;
template <class V>
void release_if_large(V& v) {
  if (v.capacity() > kKeptScratchEntries) V().swap(v);
}

template <class T>
RadixKey<T> radix_key(T v, bool descending) {
  using K = RadixKey<T>;
  constexpr K sign = K(1) << (8 * sizeof(K) - 1);
  K key;
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) {
      key = ~K(0);
    } else {
      if (v == T(0)) v = T(0);  // -0 and +0 compare equal, so they share a key
      K bits;
      std::memcpy(&bits, &v, sizeof bits);
      key = (bits & sign) ? ~bits : (bits | sign);
    }
  } else {
    key = K(v) ^ sign;
  }
  return descending ? ~key : key;
}

// Sorts row (pairs (value, original index), indices 0..n-1 in order) in place.
template <class T>
void radix_sort_row(std::vector<std::pair<T, int64_t>>& row, bool descending) {
  using K = RadixKey<T>;
  struct Item {
    K key;
    uint32_t index;  // callers keep rows below 2^32 entries
  };
  // The thread's scratch, kept between calls: fresh pages for every long row
  // would cost more than the sort itself (page faults).
  thread_local std::vector<Item> a, b;
  thread_local std::vector<T> values;
  const size_t n = row.size();
  a.resize(n), b.resize(n), values.resize(n);
  for (size_t i = 0; i < n; ++i) {
    values[i] = row[i].first;
    a[i] = {radix_key(row[i].first, descending), uint32_t(row[i].second)};
  }
  for (size_t shift = 0; shift < 8 * sizeof(K); shift += 8) {
    std::array<size_t, 257> start{};
    for (size_t i = 0; i < n; ++i) ++start[size_t((a[i].key >> shift) & 0xff) + 1];
    if (std::find(start.begin(), start.end(), n) != start.end()) continue;  // one byte value: the pass keeps the order
    for (size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
    for (size_t i = 0; i < n; ++i) b[start[size_t((a[i].key >> shift) & 0xff)]++] = a[i];
    a.swap(b);
  }
  // The values are looked up again by index, so each keeps its own bits (-0 stays -0).
  for (size_t i = 0; i < n; ++i) row[i] = {values[a[i].index], int64_t(a[i].index)};
  release_if_large(a), release_if_large(b), release_if_large(values);
}

}  // namespace gradlab::cpu
