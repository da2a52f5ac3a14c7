// Fixtures shared by the durable-log tests: small codec batches with
// recognisable values, and reading them back (TempDir is in test_util.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"
#include "log/segment_log.hpp"

namespace rill::test {

// A string's bytes, and back.
inline std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

inline std::string text_of(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// A batch of `records` records with values "<tag>/<i>" and timestamps
// ts, ts + 1, ...; base offset 0 until the log assigns one.
inline std::vector<std::byte> make_batch(int records, std::int64_t ts, const std::string& tag) {
  codec::BatchBuilder builder(1 << 16);
  std::vector<std::string> values;
  for (int i = 0; i < records; ++i) values.push_back(tag + "/" + std::to_string(i));
  for (int i = 0; i < records; ++i) {
    Record r;
    r.value = values[i];
    REQUIRE(builder.try_append(r, ts + i));
  }
  const auto bytes = builder.finish();
  return std::vector<std::byte>(bytes.begin(), bytes.end());
}

// Every record of the whole batches in `bytes`, as (offset, value) pairs.
inline std::vector<std::pair<std::int64_t, std::string>> records_of(std::span<const std::byte> bytes) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  while (!bytes.empty()) {
    const codec::BatchView batch = log::next_batch(bytes);
    REQUIRE(batch.valid());
    codec::RecordReader reader(batch);
    codec::DecodedRecord r;
    while (reader.next(r) == codec::DecodeStatus::ok) out.emplace_back(r.offset, std::string(*r.value));
  }
  return out;
}

}  // namespace rill::test
