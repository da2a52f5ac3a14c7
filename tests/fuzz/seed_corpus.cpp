// Writes the seed corpora of the segment_recovery, segment_index,
// segment_inspection, catalog,
// names and cli_args fuzz targets (the batch_decoder seeds are older and
// kept as they are). Run it from anywhere with the corpus directory as its
// argument; it overwrites the files it makes and leaves others alone:
//
//   cmake --build BUILD --target fuzz_seed_corpus
//   BUILD/tests/fuzz/fuzz_seed_corpus tests/fuzz/corpus
//
// Each seed follows the input layout documented at the top of its target.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "codec/batch_builder.hpp"
#include "codec/batch_format.hpp"
#include "log/segment_log.hpp"
#include "log/segment_format.hpp"
#include "broker/catalog.hpp"

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

Bytes read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// Without the zeros at its end (recovery restores preallocated space).
Bytes trimmed(Bytes b) {
  while (!b.empty() && b.back() == 0) b.pop_back();
  while (b.size() % 8 != 0) b.push_back(0);
  return b;
}

void write_seed(const fs::path& dir, const std::string& name, const Bytes& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

void put_u16(Bytes& out, std::size_t n) {
  out.push_back(static_cast<std::uint8_t>(n & 0xff));
  out.push_back(static_cast<std::uint8_t>(n >> 8));
}

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

struct Segment {
  Bytes log, index, time_index;
};

// A partition of `batches` small batches in a scratch folder, read back as files.
Segment make_segment(int batches, std::size_t index_interval) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("rill-seed-{}", batches);
  fs::remove_all(dir);
  {
    rill::log::SegmentLogOptions o;
    o.segment_bytes = 16 * 1024;
    o.index_interval_bytes = index_interval;
    auto log = rill::log::SegmentLog::open(dir.string(), o, rill::log::default_file_system(),
                                             [](const std::string&) {});
    for (int i = 0; i < batches; ++i) {
      rill::codec::BatchBuilder builder(4096);
      const std::string key = fmt::format("k{}", i % 3);
      const std::string value = fmt::format("value-{}", i);
      const rill::Header header{"h", "v"};
      for (int r = 0; r <= i % 3; ++r) {
        rill::Record record;
        if (i % 2 == 0) record.key = key;
        record.value = value;
        if (r == 1) record.headers = std::span<const rill::Header>(&header, 1);
        if (!builder.try_append(record, 1000 + 10 * i + r)) std::abort();
      }
      const auto bytes = builder.finish();
      (void)log->append(bytes, i % 3 + 1);
    }
  }
  const fs::path stem = dir / rill::log::segment_stem(0);
  Segment s{trimmed(read_all(stem.string() + ".log")), trimmed(read_all(stem.string() + ".index")),
            trimmed(read_all(stem.string() + ".timeindex"))};
  fs::remove_all(dir);
  return s;
}

Bytes recovery_input(std::uint8_t flags, std::uint8_t gap, const Bytes& log, const Bytes& index, const Bytes& time) {
  Bytes out{flags, gap};
  put_u16(out, log.size());
  append(out, log);
  put_u16(out, index.size());
  append(out, index);
  append(out, time);
  return out;
}

void segment_recovery_seeds(const fs::path& dir) {
  const Segment s = make_segment(12, 64);
  write_seed(dir, "clean_log_only", recovery_input(0, 0, s.log, {}, {}));
  write_seed(dir, "clean_with_indexes", recovery_input(2 | 4, 0, s.log, s.index, s.time_index));
  Bytes torn = s.log;
  torn.resize(torn.size() - 20);
  write_seed(dir, "torn_tail", recovery_input(0, 0, torn, {}, {}));
  Bytes middle = s.log;
  middle[middle.size() / 2] ^= 0x5a;
  write_seed(dir, "damaged_middle_repair", recovery_input(1 | 2 | 4, 0, middle, s.index, s.time_index));
  write_seed(dir, "damaged_middle_refuse", recovery_input(0, 0, middle, {}, {}));
  write_seed(dir, "two_segments", recovery_input(8, 7, s.log, {}, {}));
  write_seed(dir, "base_4096", recovery_input(0x20 | 1, 0, s.log, s.index, {}));
  write_seed(dir, "empty", recovery_input(0, 0, {}, {}, {}));
}

void segment_inspection_seeds(const fs::path& dir) {
  const Segment s = make_segment(12, 64);
  const auto input = [](std::uint8_t flags, const Bytes& log) {
    Bytes out{flags};
    append(out, log);
    return out;
  };
  write_seed(dir, "clean", input(0, s.log));
  Bytes middle = s.log;
  middle[middle.size() / 2] ^= 0x5a;
  write_seed(dir, "damaged_middle", input(0, middle));
  Bytes torn = s.log;
  torn.resize(torn.size() - 20);
  write_seed(dir, "torn_tail", input(1, torn));
  Bytes garbage = s.log;
  garbage.resize(garbage.size() + 64);
  garbage.back() = 0x01;
  write_seed(dir, "non_zero_fill", input(2, garbage));
}

void segment_index_seeds(const fs::path& dir) {
  const auto input = [](std::uint8_t flags, std::uint8_t at, const Bytes& index, const Bytes& time) {
    Bytes out{flags, at};
    put_u16(out, index.size());
    append(out, index);
    append(out, time);
    return out;
  };
  write_seed(dir, "real_indexes", input(1 | 2, 0, {}, {}));
  write_seed(dir, "no_indexes", input(4 | 8, 0, {}, {}));
  write_seed(dir, "zero_indexes", input(16, 0, {}, {}));
  // Entries that point at plausible places: offset 1 at byte 64 and so on.
  Bytes offsets, times;
  for (std::uint32_t i = 1; i <= 6; ++i) {
    for (std::uint32_t v : {i * 2, i * 128}) {
      for (int b = 0; b < 4; ++b) offsets.push_back(static_cast<std::uint8_t>(v >> (8 * b)));
    }
    const std::int64_t ts = 1000 + 20 * i;
    for (int b = 0; b < 8; ++b) times.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(ts) >> (8 * b)));
    for (int b = 0; b < 4; ++b) times.push_back(static_cast<std::uint8_t>((i * 2) >> (8 * b)));
    for (int b = 0; b < 4; ++b) times.push_back(0);
  }
  write_seed(dir, "plausible_entries", input(16, 0, offsets, times));
  write_seed(dir, "overlay_at_16", input(1 | 2, 2, Bytes(offsets.begin(), offsets.begin() + 16),
                                         Bytes(times.begin(), times.begin() + 32)));
}

Bytes text_seed(std::uint8_t mode, const std::string& text) {
  Bytes out{mode};
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

void catalog_seeds(const fs::path& dir) {
  std::vector<rill::broker::CatalogEntry> entries(3);
  entries[0].name = "orders";
  entries[0].options.partitions = 4;
  entries[0].options.segment_bytes = 1 << 20;
  entries[0].options.max_record_bytes = 4096;
  entries[1].name = "audit.log-v2";
  entries[1].options.fsync = rill::FsyncPolicy::interval;
  entries[1].options.fsync_interval = std::chrono::milliseconds(250);
  entries[1].options.retention_ms = std::chrono::milliseconds(86'400'000);
  entries[1].options.segment_bytes = 64 * 1024;
  entries[1].options.max_record_bytes = 1024;
  entries[2].name = "_x";
  entries[2].options.fsync = rill::FsyncPolicy::every_batch;
  entries[2].options.retention_bytes = 1 << 30;
  entries[2].options.segment_bytes = 64 << 20;
  entries[2].options.max_record_bytes = 1 << 20;
  for (auto& e : entries) e.options.storage = rill::StorageKind::durable;
  const std::string full = rill::broker::encode_catalog(entries);
  write_seed(dir, "three_topics", text_seed(0, full));
  write_seed(dir, "three_topics_body", text_seed(1, full.substr(0, full.rfind("end topics="))));
  write_seed(dir, "empty_catalog", text_seed(0, rill::broker::encode_catalog({})));
  const std::string v1 =
      "rill-catalog 1\n"
      "topic name=orders partitions=2 storage=durable max_record_bytes=1024 segment_bytes=65536 "
      "retention_bytes=0 retention_ms=0 fsync=none fsync_interval_ms=1000\n";
  write_seed(dir, "version1_body", text_seed(1, v1));
  write_seed(dir, "not_a_catalog", text_seed(0, "hello\n"));
}

void names_seeds(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"good", "orders"}, {"dots", "a.b_c-d"}, {"slash", "a/b"}, {"dotdot", ".."}, {"parent", "../x"},
      {"internal", "__x"}, {"dash", "-x"}, {"longest", std::string(249, 'n')}, {"utf8", "caf\xc3\xa9"},
      {"nul", std::string("a\0b", 3)}, {"backslash", "a\\b"}};
  for (const auto& [file, name] : names) write_seed(dir, file, Bytes(name.begin(), name.end()));
}

void cli_args_seeds(const fs::path& dir) {
  // Byte 0 picks the command by its index in the table (tools/command_table.cpp):
  // 0 topics create, 1 topics list, 2 topics describe, 3 topics delete,
  // 4 produce, 5 consume, 6 dump, 7 verify, 8 groups list, 9 groups describe,
  // 10 groups reset-offsets; 11 (one past the table) adds no words. Bit 7
  // puts "--dir data" in front.
  constexpr std::uint8_t kNoWords = 11;
  constexpr std::uint8_t kWithDir = 0x80;
  struct Call {
    std::string file;
    std::uint8_t pick;
    std::vector<std::string> args;
  };
  const std::vector<Call> calls = {
      {"create", 0, {"orders", "--partitions", "3", "--segment-bytes=65536", "--fsync", "interval:100"}},
      {"create_missing_value", 0, {"orders", "--partitions"}},
      {"list", 1, {}},
      {"describe_extra", 2, {"orders", "more"}},
      {"delete_help", 3, {"orders", "--help"}},
      {"produce", 4, {"--key-separator", ":", "orders", "--partition=0"}},
      {"consume", kWithDir | 5,
       {"orders", "--from-beginning", "--max", "10", "--format", "%o %k %v\\n", "--group", "g"}},
      {"dump_dashdash", 6, {"--", "-weird-file.log"}},
      {"verify_repair", 7, {"--repair", "--repair=yes"}},
      {"groups_list_extra", 8, {"extra"}},
      {"groups_describe_unknown", 9, {"audit", "--colour=red"}},
      {"reset_offsets_empty_topic", kWithDir | 10, {"g", "--to-latest", "--topic="}},
      {"tool_help", kNoWords, {"--help"}},
      {"tool_command_line", kNoWords,
       {"--dir", "data", "topics", "create", "state", "--partitions", "2", "--cleanup", "compact"}},
      {"tool_family_only", kNoWords, {"--dir=data", "groups"}},
  };
  for (const Call& call : calls) {
    Bytes out{call.pick};
    for (std::size_t i = 0; i < call.args.size(); ++i) {
      if (i > 0) out.push_back(0);
      out.insert(out.end(), call.args[i].begin(), call.args[i].end());
    }
    write_seed(dir, call.file, out);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_seed_corpus CORPUS_DIR\n";
    return 2;
  }
  const fs::path corpus(argv[1]);
  segment_recovery_seeds(corpus / "segment_recovery");
  segment_index_seeds(corpus / "segment_index");
  segment_inspection_seeds(corpus / "segment_inspection");
  catalog_seeds(corpus / "catalog");
  names_seeds(corpus / "names");
  cli_args_seeds(corpus / "cli_args");
  std::cout << "seeds written under " << corpus.string() << "\n";
  return 0;
}
