// The codec's varints at their edges: every varint field of a record read in
// its one-byte, two-byte and longer forms (the reader has a fast path for the
// first two), a padded (non-minimal) encoding of each field decoding to the
// same record, each field cut short at the last byte of its record, and a
// reader that stays failed after damage.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "codec/batch_builder.hpp"
#include "codec/batch_format.hpp"
#include "codec/batch_reader.hpp"
#include "rill/detail/varint.hpp"
#include "rill/record.hpp"

namespace {

using namespace rill::codec;
using Bytes = std::vector<std::byte>;

constexpr std::string_view kMalformed = "malformed varint (cut short or longer than 10 bytes)";

// One field of a record body: a zigzag varint or raw text.
struct Field {
  bool varint;
  std::int64_t value = 0;
  std::string text;
};

void add_minimal(Bytes& out, std::int64_t v) {
  std::byte buffer[rill::detail::kMaxVarintBytes];
  const std::byte* end = rill::detail::write_varlong(buffer, v);
  out.insert(out.end(), static_cast<const std::byte*>(buffer), end);
}

// The same value in three bytes (two continuation bytes), as a writer that
// does not minimise would encode it.
void add_padded(Bytes& out, std::int64_t v) {
  const std::uint64_t z = rill::detail::zigzag_encode(v);
  REQUIRE(z < (std::uint64_t{1} << 21));
  out.push_back(static_cast<std::byte>(0x80 | (z & 0x7f)));
  out.push_back(static_cast<std::byte>(0x80 | ((z >> 7) & 0x7f)));
  out.push_back(static_cast<std::byte>(z >> 14));
}

// attributes, timestamp delta 5, offset delta 0, key "k", value "val",
// one header "h" = "x".
std::vector<Field> reference_fields() {
  return {{true, 5, ""}, {true, 0, ""}, {true, 1, ""}, {false, 0, "k"}, {true, 3, ""}, {false, 0, "val"},
          {true, 1, ""}, {true, 1, ""}, {false, 0, "h"}, {true, 1, ""}, {false, 0, "x"}};
}

// The record body: attributes 0, then the fields; `padded` fields take three
// bytes; with `cut_at`, the body ends with one continuation byte there.
Bytes body_of(const std::vector<Field>& fields, const std::vector<bool>& padded,
              std::optional<std::size_t> cut_at = std::nullopt) {
  Bytes body{std::byte{0}};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (cut_at && i == *cut_at) {
      body.push_back(std::byte{0x80});
      return body;
    }
    const Field& f = fields[i];
    if (!f.varint) {
      for (char c : f.text) body.push_back(static_cast<std::byte>(c));
    } else if (padded[i]) {
      add_padded(body, f.value);
    } else {
      add_minimal(body, f.value);
    }
  }
  return body;
}

// A sealed batch holding `bodies` (each with its length prefix).
Bytes seal(const std::vector<Bytes>& bodies, std::int32_t last_offset_delta, std::uint32_t count) {
  Bytes batch(kBatchHeaderSize);
  for (const Bytes& body : bodies) {
    add_minimal(batch, static_cast<std::int64_t>(body.size()));
    batch.insert(batch.end(), body.begin(), body.end());
  }
  std::byte* p = batch.data();
  store_field<std::int64_t>(p, offsetof(BatchHeader, base_offset), 100);
  store_field<std::uint32_t>(p, offsetof(BatchHeader, batch_length), static_cast<std::uint32_t>(batch.size()));
  store_field<std::uint8_t>(p, offsetof(BatchHeader, magic), kBatchMagic);
  store_field<std::int32_t>(p, offsetof(BatchHeader, last_offset_delta), last_offset_delta);
  store_field<std::uint32_t>(p, offsetof(BatchHeader, record_count), count);
  store_field<std::int64_t>(p, offsetof(BatchHeader, first_timestamp), 1000);
  store_field<std::int64_t>(p, offsetof(BatchHeader, max_timestamp), 1005);
  store_field<std::int64_t>(p, offsetof(BatchHeader, producer_id), -1);
  store_field<std::int16_t>(p, offsetof(BatchHeader, producer_epoch), -1);
  store_field<std::int32_t>(p, offsetof(BatchHeader, base_sequence), -1);
  store_field<std::uint64_t>(p, offsetof(BatchHeader, checksum), compute_checksum(batch));
  return batch;
}

struct Read {
  std::int64_t offset;
  std::int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const Read&) const = default;
};

Read owned(const DecodedRecord& r) {
  Read out{r.offset, r.timestamp, std::nullopt, std::nullopt, {}};
  if (r.key) out.key = std::string(*r.key);
  if (r.value) out.value = std::string(*r.value);
  for (const rill::Header& h : r.headers()) out.headers.emplace_back(h.key, h.value);
  return out;
}

// Every record of a batch; REQUIREs that the batch parses and reads cleanly.
std::vector<Read> read_all(const Bytes& batch) {
  const ParsedBatch parsed = parse_batch(batch);
  REQUIRE(parsed.status == DecodeStatus::ok);
  RecordReader reader(parsed.batch);
  DecodedRecord r;
  std::vector<Read> out;
  DecodeStatus status;
  while ((status = reader.next(r)) == DecodeStatus::ok) out.push_back(owned(r));
  REQUIRE(status == DecodeStatus::incomplete);
  return out;
}

}  // namespace

TEST_CASE("codec edges: a padded varint in any field decodes to the same record", "[codec]") {
  const std::vector<Field> fields = reference_fields();
  const Read expected{100, 1005, "k", "val", {{"h", "x"}}};
  const std::vector<bool> none(fields.size(), false);
  REQUIRE(read_all(seal({body_of(fields, none)}, 0, 1)) == std::vector<Read>{expected});
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!fields[i].varint) continue;
    INFO("field " << i);
    std::vector<bool> padded = none;
    padded[i] = true;
    CHECK(read_all(seal({body_of(fields, padded)}, 0, 1)) == std::vector<Read>{expected});
  }
  // Every field padded at once, and a padded record length.
  const std::vector<bool> all(fields.size(), true);
  const Bytes body = body_of(fields, all);
  Bytes batch = seal({body}, 0, 1);
  CHECK(read_all(batch) == std::vector<Read>{expected});
  Bytes long_length(kBatchHeaderSize);
  add_padded(long_length, static_cast<std::int64_t>(body.size()));
  long_length.insert(long_length.end(), body.begin(), body.end());
  std::copy(batch.begin(), batch.begin() + kBatchHeaderSize, long_length.begin());
  store_field<std::uint32_t>(long_length.data(), offsetof(BatchHeader, batch_length),
                             static_cast<std::uint32_t>(long_length.size()));
  store_field<std::uint64_t>(long_length.data(), offsetof(BatchHeader, checksum), compute_checksum(long_length));
  CHECK(read_all(long_length) == std::vector<Read>{expected});
}

TEST_CASE("codec edges: a varint cut at the last byte of its record is malformed there", "[codec]") {
  const std::vector<Field> fields = reference_fields();
  // Earlier fields padded, so that each cut body is long enough to be a record.
  const std::vector<bool> all(fields.size(), true);
  for (std::size_t i = 2; i < fields.size(); ++i) {
    if (!fields[i].varint) continue;
    INFO("field " << i);
    const Bytes body = body_of(fields, all, i);
    const Bytes batch = seal({body}, 0, 1);
    const ParsedBatch parsed = parse_batch(batch);
    REQUIRE(parsed.status == DecodeStatus::ok);
    RecordReader reader(parsed.batch);
    DecodedRecord r;
    // The cut byte is the batch's last. A first header key length cut
    // there leaves no room for one header: the (padded) count is refused.
    const bool first_header_key = i == 7;
    const std::size_t position = batch.size() - (first_header_key ? 4 : 1);
    CHECK(reader.next(r) == DecodeStatus::corrupt);
    CHECK(reader.error().reason ==
          (first_header_key ? std::string_view("header count past the end of the record") : kMalformed));
    CHECK(reader.error().position == position);
    // A failed reader stays failed, at the same place.
    CHECK(reader.next(r) == DecodeStatus::corrupt);
    CHECK(reader.error().position == position);
  }
}

TEST_CASE("codec edges: a record length cut at the batch's last byte is malformed", "[codec]") {
  const std::vector<Field> fields = reference_fields();
  const Bytes body = body_of(fields, std::vector<bool>(fields.size(), false));
  // Two records declared; the second's length is one continuation byte.
  Bytes batch = seal({body}, 1, 2);
  batch.push_back(std::byte{0x80});
  store_field<std::uint32_t>(batch.data(), offsetof(BatchHeader, batch_length), static_cast<std::uint32_t>(batch.size()));
  store_field<std::uint64_t>(batch.data(), offsetof(BatchHeader, checksum), compute_checksum(batch));
  const ParsedBatch parsed = parse_batch(batch);
  REQUIRE(parsed.status == DecodeStatus::ok);
  RecordReader reader(parsed.batch);
  DecodedRecord r;
  REQUIRE(reader.next(r) == DecodeStatus::ok);
  CHECK(owned(r) == Read{100, 1005, "k", "val", {{"h", "x"}}});
  CHECK(reader.next(r) == DecodeStatus::corrupt);
  CHECK(reader.error().reason == kMalformed);
  CHECK(reader.error().position == batch.size() - 1);
  CHECK(reader.records_left() == 1);
}

TEST_CASE("codec edges: long fields and many records use two- and three-byte varints", "[codec]") {
  BatchBuilder builder(1 << 20);
  builder.reset();
  const std::string key(100, 'k');          // length 100: two bytes
  const std::string value(10000, 'v');      // length 10000: three bytes
  const std::string header_key(70, 'h');
  const std::string header_value(9000, 'x');
  std::vector<std::string> names{header_key};
  for (int i = 1; i < 70; ++i) names.push_back("n" + std::to_string(i));  // 70 headers: a two-byte count
  std::vector<rill::Header> headers;
  for (int i = 0; i < 70; ++i) headers.push_back({names[i], i == 0 ? std::string_view(header_value) : ""});
  std::vector<Read> expected;
  for (int i = 0; i < 70; ++i) {  // offset deltas up to 69: two bytes past 63
    rill::Record r;
    // Timestamps swing by up to a million in both directions.
    const std::int64_t ts = 5'000'000 + (i % 2 == 0 ? 1 : -1) * std::int64_t{i} * 15'000;
    Read e{i, ts, std::nullopt, std::nullopt, {}};
    if (i % 3 == 0) {
      r.key = key;
      e.key = key;
    }
    if (i % 5 != 4) {
      r.value = i == 7 ? std::string_view(value) : std::string_view("small");
      e.value = std::string(*r.value);
    }
    if (i == 10) {
      r.headers = headers;
      for (const rill::Header& h : headers) e.headers.emplace_back(h.key, h.value);
    }
    REQUIRE(builder.try_append(r, ts));
    expected.push_back(e);
  }
  const auto finished = builder.finish();
  const Bytes batch(finished.begin(), finished.end());
  CHECK(read_all(batch) == expected);
}

TEST_CASE("codec edges: a header length below -1 is refused, for its key and for its value", "[codec]") {
  // attributes, timestamp delta, offset delta, no key, no value, one header.
  const auto body_with_header = [](std::int64_t key_length, std::int64_t value_length) {
    Bytes body{std::byte{0}};
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{0}, std::int64_t{-1}, std::int64_t{-1}, std::int64_t{1},
                           key_length}) {
      add_minimal(body, v);
    }
    if (key_length > 0) body.push_back(std::byte{'h'});
    add_minimal(body, value_length);
    return body;
  };
  const struct {
    std::int64_t key_length, value_length;
    std::string_view reason;
  } cases[] = {
      {-2, 0, "header key length is negative"},
      {-1, 0, "header key length is negative"},
      {1, -2, "header value length is negative (not -1)"},
  };
  for (const auto& c : cases) {
    INFO(c.key_length << " " << c.value_length);
    const Bytes batch = seal({body_with_header(c.key_length, c.value_length)}, 0, 1);
    const ParsedBatch parsed = parse_batch(batch);
    REQUIRE(parsed.status == DecodeStatus::ok);
    RecordReader reader(parsed.batch);
    DecodedRecord r;
    CHECK(reader.next(r) == DecodeStatus::corrupt);
    CHECK(reader.error().reason == c.reason);
  }
  // A null header value is fine.
  CHECK(read_all(seal({body_with_header(1, -1)}, 0, 1)) ==
        std::vector<Read>{Read{100, 1000, std::nullopt, std::nullopt, {{"h", ""}}}});
}
