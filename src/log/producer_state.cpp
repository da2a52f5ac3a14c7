// ProducerStateTable: the sequence check and the snapshot encoding
// (producer_state.hpp, producer_snapshot.hpp).
#include "log/producer_state.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "log/producer_snapshot.hpp"
#include "rill/error.hpp"

namespace rill::log {
namespace {

// Byte positions inside a snapshot header and entry (producer_snapshot.hpp).
constexpr std::size_t kHeaderMagic = 0, kHeaderVersion = 4, kHeaderReserved = 6, kHeaderOffset = 8,
                      kHeaderCount = 16, kHeaderReserved2 = 20;
constexpr std::size_t kEntryId = 0, kEntryEpoch = 8, kEntryRecentCount = 10, kEntryReserved = 11,
                      kEntryLastSequence = 12, kEntryRecent = 16, kRecentSize = 16;
static_assert(kEntryRecent + kRecentBatches * kRecentSize == kSnapshotEntrySize,
              "a snapshot entry is 96 bytes");

// The last sequence of a batch starting at `first` covering `sequences`.
std::int32_t last_of(std::int32_t first, std::int64_t sequences) noexcept {
  return add_sequence(first, sequences - 1);
}

void check_fields(const codec::ProducerFields& p, std::int64_t sequences, const std::string& where) {
  if (p.producer_epoch < 0 || p.base_sequence < 0 || sequences < 1) {
    throw Error(ErrorCode::invalid_argument,
                fmt::format("partition \"{}\": a batch of producer {} has epoch {} and base "
                            "sequence {}; an idempotent batch needs both >= 0",
                            where, p.producer_id, p.producer_epoch, p.base_sequence));
  }
}

}  // namespace

SequenceCheck ProducerStateTable::check(const codec::ProducerFields& p, std::int64_t sequences,
                                        const std::string& where) const {
  if (p.producer_id < 0) return {};
  check_fields(p, sequences, where);
  const ProducerEntry* e = find(p.producer_id);
  if (e == nullptr) return {};  // unknown (new, or its state went with old segments)
  if (p.producer_epoch != e->epoch) {
    if (p.producer_epoch > e->epoch && p.base_sequence == 0) return {};
    throw Error(ErrorCode::out_of_order_sequence,
                fmt::format("partition \"{}\": producer {} sent epoch {} sequence {}, but the log "
                            "holds epoch {} (a newer epoch must start at sequence 0)",
                            where, p.producer_id, p.producer_epoch, p.base_sequence, e->epoch));
  }
  const std::int32_t last = last_of(p.base_sequence, sequences);
  for (std::size_t i = 0; i < e->recent_count; ++i) {
    const ProducerBatch& b = e->recent[i];
    if (b.first_sequence == p.base_sequence && b.last_sequence == last) {
      return {SequenceVerdict::duplicate, b.base_offset};
    }
  }
  const std::int32_t expected = add_sequence(e->last_sequence, 1);
  if (p.base_sequence == expected) return {};
  throw Error(ErrorCode::out_of_order_sequence,
              fmt::format("partition \"{}\": producer {} sent sequences {}..{}, but the next one "
                          "the log expects is {}; nothing was written (ask the producer's "
                          "next_sequence and resend from there)",
                          where, p.producer_id, p.base_sequence, last, expected));
}

void ProducerStateTable::record(const codec::ProducerFields& p, std::int64_t sequences,
                                std::int64_t base_offset) {
  if (p.producer_id < 0 || p.base_sequence < 0 || sequences < 1) return;
  ProducerEntry& e = entries_[p.producer_id];
  if (e.recent_count > 0 && p.producer_epoch != e.epoch) e = ProducerEntry{};
  e.epoch = p.producer_epoch;
  const ProducerBatch batch{p.base_sequence, last_of(p.base_sequence, sequences), base_offset};
  e.last_sequence = batch.last_sequence;
  if (e.recent_count == kRecentBatches) {
    std::rotate(e.recent.begin(), e.recent.begin() + 1, e.recent.end());
    e.recent.back() = batch;
  } else {
    e.recent[e.recent_count++] = batch;
  }
}

std::int32_t ProducerStateTable::next_sequence(std::int64_t producer_id) const noexcept {
  const ProducerEntry* e = find(producer_id);
  return e == nullptr ? 0 : add_sequence(e->last_sequence, 1);
}

const ProducerEntry* ProducerStateTable::find(std::int64_t producer_id) const noexcept {
  const auto it = entries_.find(producer_id);
  return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::byte> ProducerStateTable::encode(std::int64_t offset) const {
  std::vector<std::byte> out(kSnapshotHeaderSize + entries_.size() * kSnapshotEntrySize +
                             kSnapshotTrailerSize);
  std::byte* p = out.data();
  codec::store_field(p, kHeaderMagic, kSnapshotMagic);
  codec::store_field(p, kHeaderVersion, kSnapshotVersion);
  codec::store_field(p, kHeaderOffset, offset);
  codec::store_field(p, kHeaderCount, static_cast<std::uint32_t>(entries_.size()));
  std::byte* entry = p + kSnapshotHeaderSize;
  for (const auto& [id, e] : entries_) {
    codec::store_field(entry, kEntryId, id);
    codec::store_field(entry, kEntryEpoch, e.epoch);
    codec::store_field(entry, kEntryRecentCount, e.recent_count);
    codec::store_field(entry, kEntryLastSequence, e.last_sequence);
    for (std::size_t i = 0; i < e.recent_count; ++i) {
      std::byte* b = entry + kEntryRecent + i * kRecentSize;
      codec::store_field(b, 0, e.recent[i].first_sequence);
      codec::store_field(b, 4, e.recent[i].last_sequence);
      codec::store_field(b, 8, e.recent[i].base_offset);
    }
    entry += kSnapshotEntrySize;
  }
  const std::size_t body = out.size() - kSnapshotTrailerSize;
  codec::store_field(p, body, static_cast<std::uint64_t>(XXH3_64bits(p, body)));
  return out;
}

namespace {

// Decodes one entry; returns false when a field is out of range.
bool decode_entry(const std::byte* entry, std::int64_t& id, ProducerEntry& e) noexcept {
  id = codec::load_field<std::int64_t>(entry, kEntryId);
  e.epoch = codec::load_field<std::int16_t>(entry, kEntryEpoch);
  e.recent_count = codec::load_field<std::uint8_t>(entry, kEntryRecentCount);
  e.last_sequence = codec::load_field<std::int32_t>(entry, kEntryLastSequence);
  if (id < 0 || e.epoch < 0 || e.last_sequence < 0 || e.recent_count < 1 ||
      e.recent_count > kRecentBatches || codec::load_field<std::uint8_t>(entry, kEntryReserved) != 0) {
    return false;
  }
  for (std::size_t i = 0; i < e.recent_count; ++i) {
    const std::byte* b = entry + kEntryRecent + i * kRecentSize;
    e.recent[i] = {codec::load_field<std::int32_t>(b, 0), codec::load_field<std::int32_t>(b, 4),
                   codec::load_field<std::int64_t>(b, 8)};
    if (e.recent[i].first_sequence < 0 || e.recent[i].last_sequence < 0 || e.recent[i].base_offset < 0) {
      return false;
    }
  }
  return e.recent[e.recent_count - 1].last_sequence == e.last_sequence;
}

// Why the header of `bytes` is bad for `offset`, or null when it is good.
const char* header_problem(std::span<const std::byte> bytes, std::int64_t offset) noexcept {
  if (bytes.size() < kSnapshotHeaderSize + kSnapshotTrailerSize) return "shorter than a header";
  const std::byte* p = bytes.data();
  const std::size_t body = bytes.size() - kSnapshotTrailerSize;
  if (codec::load_field<std::uint64_t>(p, body) != XXH3_64bits(p, body)) return "checksum mismatch";
  if (codec::load_field<std::uint32_t>(p, kHeaderMagic) != kSnapshotMagic) return "bad magic";
  if (codec::load_field<std::uint16_t>(p, kHeaderVersion) != kSnapshotVersion) return "unknown version";
  if (codec::load_field<std::uint16_t>(p, kHeaderReserved) != 0 ||
      codec::load_field<std::uint32_t>(p, kHeaderReserved2) != 0) {
    return "reserved bytes not zero";
  }
  if (codec::load_field<std::int64_t>(p, kHeaderOffset) != offset) return "offset differs from its name";
  const std::uint64_t count = codec::load_field<std::uint32_t>(p, kHeaderCount);
  if (body != kSnapshotHeaderSize + count * kSnapshotEntrySize) return "length disagrees with the count";
  return nullptr;
}

}  // namespace

std::optional<ProducerStateTable> ProducerStateTable::decode(std::span<const std::byte> bytes,
                                                             std::int64_t offset, std::string& why) {
  if (const char* problem = header_problem(bytes, offset)) {
    why = problem;
    return std::nullopt;
  }
  const std::uint32_t count = codec::load_field<std::uint32_t>(bytes.data(), kHeaderCount);
  ProducerStateTable table;
  std::int64_t previous = -1;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::int64_t id = 0;
    ProducerEntry e;
    if (!decode_entry(bytes.data() + kSnapshotHeaderSize + i * kSnapshotEntrySize, id, e) ||
        id <= previous) {
      why = fmt::format("entry {} is out of range", i);
      return std::nullopt;
    }
    previous = id;
    table.entries_.emplace_hint(table.entries_.end(), id, e);
  }
  return table;
}

}  // namespace rill::log
