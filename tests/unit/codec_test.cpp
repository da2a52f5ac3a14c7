// Record batch codec: round trips, the exact bytes of a known batch, and every
// way a damaged or hostile batch is rejected without reading out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "codec/batch_builder.hpp"
#include "codec/batch_format.hpp"
#include "codec/batch_reader.hpp"
#include "test_util.hpp"

namespace {

using namespace rill::codec;
using Bytes = std::vector<std::byte>;

// A decoded record copied out of the batch, to compare with what was sent.
struct Owned {
  std::int64_t offset;
  std::int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::string>> headers;
  bool operator==(const Owned&) const = default;
};

std::ostream& operator<<(std::ostream& os, const std::optional<std::string>& s) {
  return s ? os << '"' << *s << '"' : os << "null";
}

std::ostream& operator<<(std::ostream& os, const Owned& r) {
  os << "{offset " << r.offset << ", ts " << r.timestamp << ", key " << r.key << ", value "
     << r.value << ", headers";
  for (const auto& [k, v] : r.headers) os << ' ' << k << '=' << v;
  return os << '}';
}

std::optional<std::string> own(std::optional<std::string_view> s) {
  return s ? std::optional<std::string>(std::string(*s)) : std::nullopt;
}

Bytes copy(std::span<const std::byte> s) { return Bytes(s.begin(), s.end()); }

// Builds one batch of `records` (timestamps from 1000 up) and returns a copy.
Bytes build(const std::vector<rill::Record>& records, const ProducerFields& p = {}) {
  BatchBuilder builder(1 << 16);
  std::int64_t timestamp = 1000;
  for (const auto& r : records) REQUIRE(builder.try_append(r, timestamp++));
  return copy(builder.finish(p));
}

// Decodes headers_encoded on its own (independently of rill::HeaderRange).
std::vector<std::pair<std::string, std::string>> decode_headers(const DecodedRecord& d) {
  std::vector<std::pair<std::string, std::string>> out;
  const std::byte* p = d.headers_encoded.data();
  const std::byte* const end = p + d.headers_encoded.size();
  for (std::uint32_t i = 0; i < d.header_count; ++i) {
    std::string parts[2];
    for (std::string& part : parts) {
      std::int64_t length = 0;
      p = rill::detail::read_varlong(p, end, length);
      REQUIRE(p != nullptr);
      REQUIRE(length >= -1);
      REQUIRE(length <= end - p);
      if (length > 0) {
        part.assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(length));
        p += length;
      }
    }
    out.emplace_back(std::move(parts[0]), std::move(parts[1]));
  }
  REQUIRE(p == end);
  return out;
}

// Reads every record of a parsed batch; requires a clean end.
std::vector<Owned> read_all(const BatchView& batch) {
  std::vector<Owned> out;
  RecordReader reader(batch);
  DecodedRecord d;
  DecodeStatus status;
  while ((status = reader.next(d)) == DecodeStatus::ok) {
    out.push_back(Owned{d.offset, d.timestamp, own(d.key), own(d.value), decode_headers(d)});
  }
  INFO("reader: " << reader.error().reason << " at " << reader.error().position);
  REQUIRE(status == DecodeStatus::incomplete);
  return out;
}

// Reads records until the reader stops; returns the final status.
DecodeStatus drain(const BatchView& batch, DecodeError* error = nullptr) {
  RecordReader reader(batch);
  DecodedRecord d;
  DecodeStatus status;
  while ((status = reader.next(d)) == DecodeStatus::ok) {
  }
  if (error != nullptr) *error = reader.error();
  return status;
}

void corrupt_byte(Bytes& b, std::size_t at, std::uint8_t mask = 0xff) {
  b[at] ^= static_cast<std::byte>(mask);
}

template <typename T>
void put(Bytes& b, std::size_t at, T v) {
  store_field(b.data(), at, v);
}

// Recomputes the checksum after a deliberate edit, so that a test reaches
// the check behind it.
void reseal(Bytes& b) {
  put(b, offsetof(BatchHeader, checksum), compute_checksum(b));
}

std::string hex(std::span<const std::byte> b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::byte x : b) {
    s += digits[static_cast<unsigned>(x) >> 4];
    s += digits[static_cast<unsigned>(x) & 15];
  }
  return s;
}

// Hand-made record bodies for malformed input: varints and bytes appended raw.
struct Raw {
  Bytes bytes;
  Raw& varint(std::int64_t v) {
    std::byte tmp[rill::detail::kMaxVarintBytes];
    bytes.insert(bytes.end(), tmp, rill::detail::write_varlong(tmp, v));
    return *this;
  }
  Raw& u8(std::uint8_t v, std::size_t times = 1) {
    bytes.insert(bytes.end(), times, static_cast<std::byte>(v));
    return *this;
  }
  Raw& text(std::string_view s) {
    for (char c : s) bytes.push_back(static_cast<std::byte>(c));
    return *this;
  }
  Raw& append(const Raw& other) {
    bytes.insert(bytes.end(), other.bytes.begin(), other.bytes.end());
    return *this;
  }
};

// A whole record: length prefix + body.
Raw record(const Raw& body) {
  return Raw().varint(static_cast<std::int64_t>(body.bytes.size())).append(body);
}

// The start of a body: attributes 0, timestamp delta 0, offset delta `delta`.
Raw body_start(std::int64_t delta = 0) { return Raw().u8(0).varint(0).varint(delta); }

// A body start with a null key and a null value; the header count follows.
Raw unkeyed_tombstone() { return body_start().varint(-1).varint(-1); }

// A well-formed 17-byte body with offset delta `delta`: key "k", a 10-byte
// value, no headers.
Raw simple_body(std::int64_t delta) {
  return body_start(delta).varint(1).text("k").varint(10).text("0123456789").varint(0);
}

std::int64_t wrapping_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

// A sealed batch around raw record bytes.
Bytes seal(const Raw& records, std::uint32_t count, std::int32_t last_offset_delta) {
  Bytes b(kBatchHeaderSize);
  BatchHeader h{};
  h.batch_length = static_cast<std::uint32_t>(kBatchHeaderSize + records.bytes.size());
  h.magic = kBatchMagic;
  h.last_offset_delta = last_offset_delta;
  h.record_count = count;
  h.first_timestamp = 1000;
  h.max_timestamp = 1000;
  h.producer_id = -1;
  h.producer_epoch = -1;
  h.base_sequence = -1;
  std::memcpy(b.data(), &h, sizeof h);
  b.insert(b.end(), records.bytes.begin(), records.bytes.end());
  reseal(b);
  return b;
}

// Parses (must succeed) and iterates; returns the reader's error.
DecodeError reader_error(const Bytes& b) {
  const ParsedBatch parsed = parse_batch(b);
  INFO("parse: " << parsed.error.reason);
  REQUIRE(parsed.status == DecodeStatus::ok);
  DecodeError error;
  CHECK(drain(parsed.batch, &error) == DecodeStatus::corrupt);
  return error;
}

const rill::Header kOneHeader[] = {{"h", "x"}};

// The batch of docs/log_format.md's example: key "k", value "v", header h=x;
// then a record with no key and a null value. Producer 7/1/100, base offset 5.
Bytes known_batch() {
  const rill::Record tombstone{std::nullopt, std::nullopt, {}};
  Bytes b = build({rill::Record{"k", "v", kOneHeader}, tombstone}, ProducerFields{7, 1, 100});
  set_base_offset(b, 5);
  return b;
}

}  // namespace

TEST_CASE("codec: the hot-path calls are noexcept", "[codec]") {
  BatchBuilder builder(256);
  DecodedRecord d;
  RecordReader reader{BatchView()};
  STATIC_REQUIRE(noexcept(builder.try_append(rill::Record{}, 0)));
  STATIC_REQUIRE(noexcept(builder.finish()));
  STATIC_REQUIRE(noexcept(parse_batch(std::span<const std::byte>())));
  STATIC_REQUIRE(noexcept(reader.next(d)));
  STATIC_REQUIRE(std::is_trivially_copyable_v<BatchHeader>);
}

TEST_CASE("codec: a small known batch has exactly these bytes", "[codec]") {
  const Bytes b = known_batch();
  // Spelled out field by field in docs/log_format.md ("Example").
  CHECK(hex(b) ==
        "0500000000000000"  // base_offset 5
        "ab595bfcca708cb4"  // checksum: XXH3-64 of bytes 16..83 (as `xxhsum -H3` computes)
        "5400000052000000"  // batch_length 84, magic 'R', reserved, attributes 0
        "0100000002000000"  // last_offset_delta 1, record_count 2
        "e803000000000000"  // first_timestamp 1000
        "e903000000000000"  // max_timestamp 1001
        "0700000000000000"  // producer_id 7
        "0100000064000000"  // producer_epoch 1, reserved, base_sequence 100
        "18000000026b02760202680278"  // record 0: key "k", value "v", header h=x
        "0c000202010100");            // record 1: ts +1, delta 1, null key and value
  CHECK(read_base_offset(b) == 5);
  CHECK(load_field<std::uint64_t>(b.data(), 8) == 0xb48c70cafc5b59abull);
  REQUIRE(parse_batch(b).status == DecodeStatus::ok);
}

TEST_CASE("codec: a batch reads back its header fields and records", "[codec]") {
  const Bytes b = known_batch();
  const ParsedBatch parsed = parse_batch(b);
  REQUIRE(parsed.status == DecodeStatus::ok);
  const BatchView& v = parsed.batch;
  CHECK(v.base_offset() == 5);
  CHECK(v.last_offset() == 6);
  CHECK(v.next_offset() == 7);
  CHECK(v.record_count() == 2);
  CHECK(v.first_timestamp() == 1000);
  CHECK(v.max_timestamp() == 1001);
  CHECK(v.producer_id() == 7);
  CHECK(v.producer_epoch() == 1);
  CHECK(v.base_sequence() == 100);
  CHECK(v.attributes() == 0);
  CHECK(v.size_bytes() == b.size());
  const std::vector<Owned> expected{{5, 1000, "k", "v", {{"h", "x"}}},
                                    {6, 1001, std::nullopt, std::nullopt, {}}};
  CHECK(read_all(v) == expected);

  RecordReader reader(v);
  DecodedRecord d;
  REQUIRE(reader.next(d) == DecodeStatus::ok);
  const rill::RecordView view = to_record_view(d, "orders", 3);
  CHECK(view.topic() == "orders");
  CHECK(view.partition() == 3);
  CHECK(view.offset() == 5);
  CHECK(view.key() == "k");
  CHECK(view.value() == "v");
  CHECK(view.headers().size() == 1);
}

TEST_CASE("codec: headers of a decoded record iterate through rill::HeaderRange", "[codec]") {
  const rill::Header headers[] = {{"trace", "abc"}, {"", ""}, {"k", std::string_view("\0\1", 2)}};
  const Bytes b = build({rill::Record{"k", "v", headers}});
  const ParsedBatch parsed = parse_batch(b);
  REQUIRE(parsed.status == DecodeStatus::ok);
  RecordReader reader(parsed.batch);
  DecodedRecord d;
  REQUIRE(reader.next(d) == DecodeStatus::ok);
  std::vector<std::pair<std::string, std::string>> seen;
  for (const rill::Header& h : to_record_view(d, "t", 0).headers()) {
    seen.emplace_back(h.key, h.value);
  }
  const std::vector<std::pair<std::string, std::string>> expected{
      {"trace", "abc"}, {"", ""}, {"k", std::string("\0\1", 2)}};
  CHECK(seen == expected);
}

TEST_CASE("codec: random records round-trip through batches", "[codec]") {
  std::mt19937_64 rng(rill::test::seed());
  auto pick = [&](std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng);
  };
  auto text = [&](std::size_t max) {
    std::string s(pick(max + 1), '\0');
    for (char& c : s) c = static_cast<char>(pick(256));
    return s;
  };
  auto maybe_text = [&]() -> std::optional<std::string> {
    switch (pick(5)) {
      case 0: return std::nullopt;
      case 1: return std::string();
      case 2: return text(5000);
      default: return text(40);
    }
  };
  const std::int64_t extremes[] = {std::numeric_limits<std::int64_t>::min(),
                                   std::numeric_limits<std::int64_t>::max(), -1, 0};
  for (std::uint64_t round = 0; round < 40 * rill::test::scale(); ++round) {
    BatchBuilder builder(kBatchHeaderSize + 11000 + pick(1 << 16));
    std::deque<std::string> storage;  // stable addresses for the string_views
    std::vector<std::vector<rill::Header>> header_sets;
    std::vector<Owned> expected;
    const std::int64_t first = static_cast<std::int64_t>(rng());
    const std::size_t wanted = 1 + pick(300);
    header_sets.reserve(wanted);
    for (std::size_t i = 0; i < wanted; ++i) {
      Owned o{static_cast<std::int64_t>(i), first, maybe_text(), maybe_text(), {}};
      if (i > 0) {
        const auto near_first = wrapping_add(first, static_cast<std::int64_t>(pick(2000)) - 1000);
        o.timestamp = pick(8) == 0 ? extremes[pick(4)] : near_first;
      }
      rill::Record r;
      if (o.key) r.key = storage.emplace_back(*o.key);
      if (o.value) r.value = storage.emplace_back(*o.value);
      auto& headers = header_sets.emplace_back();
      for (std::size_t h = pick(4); h > 0; --h) {
        o.headers.emplace_back(text(20), text(30));
        headers.push_back({storage.emplace_back(o.headers.back().first),
                           storage.emplace_back(o.headers.back().second)});
      }
      r.headers = headers;
      const std::size_t before = builder.size_bytes();
      if (!builder.try_append(r, o.timestamp)) {
        CHECK(builder.size_bytes() == before);
        CHECK(before + BatchBuilder::record_size_bound(r) > builder.max_batch_bytes());
        break;
      }
      CHECK(builder.size_bytes() - before <= BatchBuilder::record_size_bound(r));
      expected.push_back(std::move(o));
    }
    const ProducerFields producer{static_cast<std::int64_t>(pick(1000)), 2, 17};
    Bytes b = copy(builder.finish(producer));
    const auto base = static_cast<std::int64_t>(pick(1ull << 40));
    set_base_offset(b, base);
    for (auto& o : expected) o.offset += base;
    const ParsedBatch parsed = parse_batch(b);
    REQUIRE(parsed.status == DecodeStatus::ok);
    CHECK(parsed.batch.record_count() == expected.size());
    CHECK(parsed.batch.first_timestamp() == first);
    CHECK(parsed.batch.producer_id() == producer.producer_id);
    CHECK(read_all(parsed.batch) == expected);
  }
}

TEST_CASE("codec: the builder refuses a record that does not fit and keeps the batch", "[codec]") {
  const std::string value(100, 'v');
  const rill::Record r{"key", value, {}};
  const std::size_t bound = BatchBuilder::record_size_bound(r);
  BatchBuilder builder(kBatchHeaderSize + bound);  // the first record always fits
  REQUIRE(builder.finish().empty());               // no records, no batch
  REQUIRE(builder.try_append(r, 1));
  const Bytes one = copy(builder.finish());
  CHECK_FALSE(builder.try_append(r, 2));
  CHECK(builder.record_count() == 1);
  CHECK(copy(builder.finish()) == one);
  builder.reset();
  CHECK(builder.empty());
  CHECK(builder.size_bytes() == kBatchHeaderSize);
  CHECK(builder.first_timestamp() == rill::kNoTimestamp);
  CHECK_THROWS_AS(BatchBuilder(kBatchHeaderSize), rill::Error);
  CHECK_THROWS_AS(BatchBuilder(kMaxBatchBytes + 1), rill::Error);
}

TEST_CASE("codec: base_offset is not covered by the checksum", "[codec]") {
  Bytes b = build({rill::Record{"k", "v", {}}});
  const auto checksum = load_field<std::uint64_t>(b.data(), 8);
  set_base_offset(b, 123456789);
  CHECK(load_field<std::uint64_t>(b.data(), 8) == checksum);
  const ParsedBatch parsed = parse_batch(b);
  REQUIRE(parsed.status == DecodeStatus::ok);
  CHECK(parsed.batch.base_offset() == 123456789);
  CHECK(read_all(parsed.batch).front().offset == 123456789);
}

TEST_CASE("codec: batches back to back parse one at a time", "[codec]") {
  Bytes two = build({rill::Record{"a", "1", {}}});
  const Bytes second = build({rill::Record{"b", "2", {}}, rill::Record{"c", "3", {}}});
  const std::size_t first_size = two.size();
  two.insert(two.end(), second.begin(), second.end());
  const ParsedBatch p1 = parse_batch(two);
  REQUIRE(p1.status == DecodeStatus::ok);
  CHECK(p1.batch.size_bytes() == first_size);
  const ParsedBatch p2 = parse_batch(std::span(two).subspan(first_size));
  REQUIRE(p2.status == DecodeStatus::ok);
  CHECK(read_all(p2.batch).back().value == "3");
}

TEST_CASE("codec: a batch cut at every byte is incomplete and never read past", "[codec]") {
  const Bytes b = build({rill::Record{"key", "value", kOneHeader}, rill::Record{"k2", "v2", {}}});
  for (std::size_t n = 0; n < b.size(); ++n) {
    // Exactly n bytes on the heap, so that ASan sees any read past them.
    const Bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    const ParsedBatch parsed = parse_batch(cut);
    CHECK(parsed.status == DecodeStatus::incomplete);
    CHECK(parsed.error.position == n);
    if (n >= kBatchHeaderSize) {  // a reader handed the cut bytes anyway must stop cleanly
      CHECK(drain(BatchView::trusted(cut)) == DecodeStatus::corrupt);
    }
  }
}

TEST_CASE("codec: every single-bit flip after base_offset is detected", "[codec]") {
  const Bytes b = build({rill::Record{"k", "v", kOneHeader}, rill::Record{std::nullopt, "w", {}}});
  for (std::size_t at = 8; at < b.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes flipped = b;
      corrupt_byte(flipped, at, static_cast<std::uint8_t>(1u << bit));
      INFO("byte " << at << " bit " << bit);
      CHECK(parse_batch(flipped).status != DecodeStatus::ok);
    }
  }
  Bytes unchecked = b;
  corrupt_byte(unchecked, b.size() - 2);  // damage a value byte only
  CHECK(parse_batch(unchecked).status == DecodeStatus::corrupt);
  CHECK(parse_batch(unchecked).error.reason == std::string_view("checksum mismatch"));
  CHECK(parse_batch(unchecked, false).status == DecodeStatus::ok);  // trusted fast path
}

TEST_CASE("codec: header damage is reported with its position", "[codec]") {
  const Bytes good = build({rill::Record{"k", "v", {}}, rill::Record{"k", "v", {}}});
  auto parse_damaged = [&](auto edit) {
    Bytes b = good;
    edit(b);
    reseal(b);
    return parse_batch(b);
  };
  auto expect_corrupt_at = [](const ParsedBatch& p, std::size_t position) {
    INFO(p.error.reason);
    CHECK(p.status == DecodeStatus::corrupt);
    CHECK(p.error.position == position);
  };
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint8_t>(b, 20, 2); }), 20);
  expect_corrupt_at(parse_batch(Bytes(kBatchHeaderSize)), 20);  // zero-filled space
  CHECK(parse_batch(Bytes(kBatchHeaderSize)).error.reason ==
        std::string_view("zero bytes where a batch header should be"));
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint8_t>(b, 21, 1); }), 21);
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint16_t>(b, 22, 3); }), 22);  // zstd
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint16_t>(b, 22, 0x0100); }), 22);
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint16_t>(b, 58, 1); }), 58);
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint32_t>(b, 16, 70); }), 16);
  expect_corrupt_at(parse_damaged([](Bytes& b) {
    put(b, 16, static_cast<std::uint32_t>(kMaxBatchBytes + 1));
  }), 16);
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint32_t>(b, 28, 0); }), 28);
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::uint32_t>(b, 28, 1000); }), 28);
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::int32_t>(b, 24, 0); }), 24);
  expect_corrupt_at(parse_damaged([](Bytes& b) { put<std::int64_t>(b, 0, -1); }), 0);
  expect_corrupt_at(parse_damaged([](Bytes& b) {
    put<std::int64_t>(b, 0, std::numeric_limits<std::int64_t>::max() - 1);
  }), 0);
  // A length past the bytes (but plausible) waits for more.
  CHECK(parse_damaged([](Bytes& b) { put<std::uint32_t>(b, 16, 5000); }).status ==
        DecodeStatus::incomplete);
  // Transactional and control batches decode like any other.
  const auto control_batch = [](Bytes& b) {
    put<std::uint16_t>(b, 22, kAttrTransactional | kAttrControl);
  };
  CHECK(parse_damaged(control_batch).status == DecodeStatus::ok);
}

TEST_CASE("codec: a record count that disagrees with the records is corrupt", "[codec]") {
  const Raw two = Raw().append(record(simple_body(0))).append(record(simple_body(1)));
  const Bytes control = seal(two, 2, 1);  // well-formed
  CHECK(read_all(parse_batch(control).batch).size() == 2);
  CHECK(reader_error(seal(two, 3, 2)).reason ==
        std::string_view("fewer records than the record count"));
  const DecodeError extra = reader_error(seal(two, 1, 1));
  CHECK(extra.reason == std::string_view("bytes after the last record"));
  CHECK(extra.position == kBatchHeaderSize + 18);
}

TEST_CASE("codec: malformed records are corrupt at the damaged field", "[codec]") {
  const std::size_t body_at = kBatchHeaderSize + 1;  // after a one-byte record length
  auto error_of = [](const Raw& body) { return reader_error(seal(record(body), 1, 0)); };
  SECTION("varint longer than 10 bytes") {
    const Raw body = Raw().u8(0).u8(0xff, 11).u8(0).varint(0).varint(-1).varint(-1).varint(0);
    const DecodeError e = error_of(body);
    CHECK(e.position == body_at + 1);
    CHECK(e.reason == std::string_view("malformed varint (cut short or longer than 10 bytes)"));
  }
  SECTION("record length varint runs off the batch") {
    CHECK(reader_error(seal(Raw().u8(0xff, 7), 1, 0)).position == kBatchHeaderSize);
  }
  SECTION("negative key length other than -1") {
    const DecodeError e = error_of(body_start().varint(-2).varint(-1).varint(0));
    CHECK(e.position == body_at + 3);
    CHECK(e.reason == std::string_view("key length is negative (not -1)"));
  }
  SECTION("negative value length other than -1") {
    const DecodeError e = error_of(body_start().varint(-1).varint(-7).varint(0));
    CHECK(e.position == body_at + 4);
    CHECK(e.reason == std::string_view("value length is negative (not -1)"));
  }
  SECTION("key length past the end of the record") {
    const DecodeError e = error_of(body_start().varint(50).text("abc").varint(0));
    CHECK(e.reason == std::string_view("key length past the end of the record"));
  }
  SECTION("header count past the end of the record") {
    const DecodeError e = error_of(unkeyed_tombstone().varint(9).varint(0).varint(0));
    CHECK(e.position == body_at + 5);
    CHECK(e.reason == std::string_view("header count past the end of the record"));
  }
  SECTION("null header key") {
    const DecodeError e = error_of(unkeyed_tombstone().varint(1).varint(-1).varint(0));
    CHECK(e.reason == std::string_view("header key length is negative"));
  }
  SECTION("header value past the end of the record") {
    const Raw body = unkeyed_tombstone().varint(1).varint(1).text("h").varint(4).text("x");
    CHECK(error_of(body).reason ==
          std::string_view("header value length past the end of the record"));
  }
  SECTION("record attributes not zero") {
    CHECK(error_of(Raw().u8(1).varint(0).varint(0).varint(-1).varint(-1).varint(0)).position ==
          body_at);
  }
  SECTION("declared record length longer than its contents") {
    const DecodeError e = error_of(Raw().append(simple_body(0)).u8(0));
    CHECK(e.reason == std::string_view("record length does not match its contents"));
  }
  SECTION("record length below the minimum or past the batch") {
    CHECK(reader_error(seal(Raw().varint(5).u8(0, 6), 1, 0)).reason ==
          std::string_view("record length too small"));
    CHECK(reader_error(seal(Raw().varint(100).append(simple_body(0)), 1, 0)).reason ==
          std::string_view("record length past the end of the batch"));
  }
  SECTION("offset deltas out of order or past the last offset delta") {
    const Raw same = Raw().append(record(simple_body(0))).append(record(simple_body(0)));
    CHECK(reader_error(seal(same, 2, 1)).position == kBatchHeaderSize + 18 + 3);
    CHECK(reader_error(seal(record(simple_body(3)), 1, 2)).position == kBatchHeaderSize + 3);
  }
}

TEST_CASE("codec: a null header value reads as an empty value", "[codec]") {
  const Raw body = unkeyed_tombstone().varint(1).varint(1).text("h").varint(-1);
  const Bytes b = seal(record(body), 1, 0);
  const ParsedBatch parsed = parse_batch(b);
  REQUIRE(parsed.status == DecodeStatus::ok);
  const std::vector<Owned> expected{{0, 1000, std::nullopt, std::nullopt, {{"h", ""}}}};
  CHECK(read_all(parsed.batch) == expected);
}
