// Catalog: the list of a node's durable topics, kept in "<dir>/rill.catalog"
// (byte-level format in docs/log_format.md, section "Node directory and
// catalog").
//
// The file is small text: a magic and version line, one line per topic with
// its name, partition count, storage kind and policies, and a closing line
// with the topic count and an XXH3-64 checksum of every byte before it. It
// is replaced whole on every change: written to "rill.catalog.tmp", synced,
// renamed over the old one, and the directory synced, so a crash leaves
// either the old or the new catalog, never a mix.
#pragma once

#include <string>
#include <vector>

#include "log/file_system.hpp"
#include "rill/options.hpp"

namespace rill::broker {

inline constexpr const char* kCatalogFileName = "rill.catalog";
inline constexpr const char* kCatalogTempName = "rill.catalog.tmp";
inline constexpr const char* kCatalogMagic = "rill-catalog";
// Written: version 2 (version 1 lacked cleanup and tombstone_retention_ms).
// Read: versions 1 and 2; a version-1 topic gets the defaults of those fields.
inline constexpr int kCatalogVersion = 2;
inline constexpr int kOldestCatalogVersion = 1;

struct CatalogEntry {
  std::string name;
  TopicOptions options;  // storage is always StorageKind::durable
};

// The catalog text for `entries` (in the given order).
[[nodiscard]] std::string encode_catalog(const std::vector<CatalogEntry>& entries);
// Parses catalog text. Throws Error(corrupt) naming `path` and what is wrong:
// not a rill catalog (bad magic), an unknown version, a bad checksum, a bad
// line (with its number), or a topic name that is not valid.
[[nodiscard]] std::vector<CatalogEntry> decode_catalog(const std::string& text, const std::string& path);

// Reads "<dir>/rill.catalog"; an absent file is an empty catalog.
[[nodiscard]] std::vector<CatalogEntry> read_catalog(log::FileSystem& fs, const std::string& dir);
// Replaces "<dir>/rill.catalog" atomically and durably (temp file, sync,
// rename, directory sync). Throws Error(io).
void write_catalog(log::FileSystem& fs, const std::string& dir, const std::vector<CatalogEntry>& entries);


}  // namespace rill::broker
