// rill::inspect_catalog (rill/inspect.hpp): the catalog's part of a
// read-only inspection of a data directory. The partitions' part is
// src/log/partition_inspection.cpp.
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "log/file_system.hpp"
#include "log/partition_inspection.hpp"
#include "storage/topic_options.hpp"
#include "rill/error.hpp"
#include "rill/inspect.hpp"
#include "broker/catalog.hpp"

namespace rill {

std::vector<std::string> inspect_catalog(const std::filesystem::path& data_dir) {
  std::vector<std::string> problems;
  std::vector<broker::CatalogEntry> entries;
  try {
    // read_catalog only reads (an absent file is an empty catalog).
    entries = broker::read_catalog(log::default_file_system(), data_dir.string());
  } catch (const Error& e) {
    if (e.code() != ErrorCode::corrupt) throw;
    problems.push_back(fmt::format("{}: an open refuses it", e.what()));
    return problems;
  }
  for (const broker::CatalogEntry& entry : entries) {
    for (int p = 0; p < entry.options.partitions; ++p) {
      const std::filesystem::path folder = storage::partition_dir(data_dir.string(), entry.name, p);
      std::error_code ec;
      if (!std::filesystem::is_directory(folder, ec) || log::segment_files(folder).empty()) {
        problems.push_back(fmt::format("topic \"{}\" partition {}: {} holds no segment file: an open would "
                                       "start the partition empty",
                                       entry.name, p, folder.string()));
      }
    }
  }
  return problems;
}

}  // namespace rill
