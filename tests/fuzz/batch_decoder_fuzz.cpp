// Fuzz target for the record batch decoder (src/codec/batch_reader.hpp).
//
// Arbitrary bytes are read as a log would read them: batch after batch, each
// parsed with and without its checksum (random bytes rarely carry a valid
// checksum, so the unchecked parse is what lets the fuzzer reach the record
// reader), every record decoded and every header iterated. The reader also
// walks the raw bytes as a "trusted" view, to show that its bounds checks
// hold even when the header lies. Any read out of bounds is the sanitizer's
// to catch; broken invariants trap. A batch that decodes is re-encoded with
// BatchBuilder and must decode to the same records.
//
// With clang this is a libFuzzer target. Built with RILL_FUZZ_REPLAY, it gets
// a main() that replays files and directories (the seed corpus), and also
// every truncation and every single-bit flip of each file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "codec/batch_builder.hpp"
#include "codec/batch_reader.hpp"

namespace {

using namespace rill::codec;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(std::span<const std::byte> outer, const void* p, std::size_t n) {
  const auto* b = static_cast<const std::byte*>(p);
  return b >= outer.data() && n <= static_cast<std::size_t>(outer.data() + outer.size() - b);
}

// Touches every byte a view claims, so that a bad view is a sanitizer report.
unsigned touch(std::string_view s) {
  unsigned sum = 0;
  for (char c : s) sum += static_cast<unsigned char>(c);
  return sum;
}

struct Decoded {
  DecodedRecord record;
  std::vector<rill::Header> headers;
};

// Reads all records of `batch`; returns them if the batch decodes cleanly.
std::optional<std::vector<Decoded>> read_records(const BatchView& batch) {
  std::vector<Decoded> out;
  RecordReader reader(batch);
  DecodedRecord d;
  DecodeStatus status;
  volatile unsigned sink = 0;
  std::uint64_t previous_delta = 0;
  while ((status = reader.next(d)) == DecodeStatus::ok) {
    // Offset deltas increase (compared as deltas: a trusted view of garbage
    // may have a base offset that wraps).
    const std::uint64_t delta =
        static_cast<std::uint64_t>(d.offset) - static_cast<std::uint64_t>(batch.base_offset());
    check(out.empty() || delta > previous_delta);
    check(delta <= static_cast<std::uint64_t>(batch.last_offset_delta()));
    previous_delta = delta;
    if (d.key) check(inside(batch.bytes(), d.key->data(), d.key->size()));
    if (d.value) check(inside(batch.bytes(), d.value->data(), d.value->size()));
    check(inside(batch.bytes(), d.headers_encoded.data(), d.headers_encoded.size()));
    Decoded entry{d, {}};
    for (const rill::Header& h : d.headers()) entry.headers.push_back(h);
    check(entry.headers.size() == d.header_count);  // the reader checked every header
    sink = sink + touch(d.key.value_or("")) + touch(d.value.value_or(""));
    for (const rill::Header& h : entry.headers) sink = sink + touch(h.key) + touch(h.value);
    out.push_back(entry);
  }
  check(status != DecodeStatus::corrupt || reader.error().position <= batch.size_bytes());
  if (status != DecodeStatus::incomplete) return std::nullopt;
  check(out.size() == batch.record_count());
  return out;
}

// Re-encodes decoded records and checks they decode to the same thing.
void check_round_trip(const BatchView& batch, const std::vector<Decoded>& records) {
  // Canonical varints and dense deltas add at most 14 bytes a record.
  BatchBuilder builder(batch.size_bytes() + 16 * records.size() + kBatchHeaderSize);
  for (const Decoded& d : records) {
    const rill::Record r{d.record.key, d.record.value, d.headers, 0, 0};
    check(builder.try_append(r, d.record.timestamp));
  }
  const auto rebuilt = builder.finish(batch.producer());
  const ParsedBatch parsed = parse_batch(rebuilt);
  check(parsed.status == DecodeStatus::ok);
  const auto again = read_records(parsed.batch);
  check(again.has_value() && again->size() == records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const DecodedRecord& a = records[i].record;
    const DecodedRecord& b = (*again)[i].record;
    check(a.timestamp == b.timestamp && a.key == b.key && a.value == b.value);
    check(records[i].headers.size() == (*again)[i].headers.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  if (bytes.size() >= kBatchHeaderSize) (void)read_records(BatchView::trusted(bytes));
  while (!bytes.empty()) {
    const ParsedBatch checked = parse_batch(bytes);
    const ParsedBatch parsed = parse_batch(bytes, false);
    check(checked.status != DecodeStatus::ok || parsed.status == DecodeStatus::ok);
    if (parsed.status != DecodeStatus::ok) break;
    const BatchView& batch = parsed.batch;
    check(batch.size_bytes() >= kBatchHeaderSize && batch.size_bytes() <= bytes.size());
    check(batch.last_offset() >= batch.base_offset());
    if (const auto records = read_records(batch); records && batch.attributes() == 0) {
      check_round_trip(batch, *records);
    }
    bytes = bytes.subspan(batch.size_bytes());
  }
  return 0;
}

#ifdef RILL_FUZZ_REPLAY
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

namespace {

std::vector<std::uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Runs one input, all its truncations and all its single-bit flips.
void replay(const std::vector<std::uint8_t>& input) {
  LLVMFuzzerTestOneInput(input.data(), input.size());
  for (std::size_t n = 0; n < input.size(); ++n) {
    const std::vector<std::uint8_t> cut(input.begin(),
                                        input.begin() + static_cast<std::ptrdiff_t>(n));
    LLVMFuzzerTestOneInput(cut.data(), cut.size());
  }
  std::vector<std::uint8_t> flipped = input;
  for (std::size_t at = 0; at < flipped.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      flipped[at] ^= static_cast<std::uint8_t>(1u << bit);
      LLVMFuzzerTestOneInput(flipped.data(), flipped.size());
      flipped[at] ^= static_cast<std::uint8_t>(1u << bit);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg))
        paths.push_back(entry.path());
    } else {
      paths.push_back(arg);
    }
    for (const auto& path : paths) {
      replay(read_file(path));
      ++files;
    }
  }
  std::cout << "replayed " << files << " inputs with their truncations and bit flips\n";
  return files > 0 ? 0 : 1;
}
#endif
