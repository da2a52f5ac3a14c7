// Fuzz target for the catalog parser (src/broker/catalog.hpp).
//
// Byte 0 picks the mode; the rest is text. Mode bit 0 clear: the text is a
// whole catalog file, as read from disk. Set: the text is a catalog body
// (the magic line and topic lines) and the target appends the closing line
// with the right count and checksum, so that the fuzzer gets past the
// checksum to the line parser.
//
// Properties: decode_catalog throws Error(corrupt) or returns entries whose
// names are valid and distinct, with partitions >= 1 handed back as parsed;
// encoding what it returned and decoding that gives the same entries, and
// encoding is a fixed point (encode(decode(encode(e))) == encode(e)).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "codec/batch_format.hpp"  // xxhash
#include "fuzz_util.hpp"
#include "rill/error.hpp"
#include "broker/catalog.hpp"
#include "base/names.hpp"

namespace {

using rill::fuzz::check;
using rill::broker::CatalogEntry;

bool same(const CatalogEntry& a, const CatalogEntry& b) {
  const rill::TopicOptions& x = a.options;
  const rill::TopicOptions& y = b.options;
  return a.name == b.name && x.partitions == y.partitions && x.storage == y.storage &&
         x.max_record_bytes == y.max_record_bytes && x.segment_bytes == y.segment_bytes &&
         x.retention_bytes == y.retention_bytes && x.retention_ms == y.retention_ms && x.fsync == y.fsync &&
         x.fsync_interval == y.fsync_interval && x.cleanup == y.cleanup &&
         x.tombstone_retention == y.tombstone_retention;
}

// `body` with the closing line a writer would put after it.
std::string close_body(const std::string& body) {
  std::size_t lines = 0;
  for (char c : body) lines += c == '\n';
  return body + fmt::format("end topics={} checksum={:016x}\n", lines == 0 ? 0 : lines - 1,
                            XXH3_64bits(body.data(), body.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string text = (data[0] & 1) ? close_body(input) : input;
  std::vector<CatalogEntry> entries;
  try {
    entries = rill::broker::decode_catalog(text, "fuzz/rill.catalog");
  } catch (const rill::Error& e) {
    check(e.code() == rill::ErrorCode::corrupt);
    check(std::string(e.what()).find("fuzz/rill.catalog") != std::string::npos);
    return 0;
  }
  std::set<std::string> names;
  for (const CatalogEntry& e : entries) {
    check(rill::base::is_valid_name(e.name));
    check(names.insert(e.name).second);
    check(e.options.storage == rill::StorageKind::durable);
  }
  const std::string encoded = rill::broker::encode_catalog(entries);
  const std::vector<CatalogEntry> again = rill::broker::decode_catalog(encoded, "fuzz/encoded");
  check(again.size() == entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) check(same(entries[i], again[i]));
  check(rill::broker::encode_catalog(again) == encoded);
  return 0;
}

#include "fuzz_replay.hpp"
