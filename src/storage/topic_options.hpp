// The one validator of TopicOptions, and where a durable partition lives.
#pragma once

#include <string>
#include <string_view>

#include "rill/options.hpp"

namespace rill::storage {

// `requested` with the defaults of `rules` filled in (max_record_bytes;
// for durable topics segment_bytes), validated by the limits of that
// storage kind. Throws Error(invalid_argument) naming the topic, the field
// and its limits. `rules` is the kind the topic will be stored as.
[[nodiscard]] TopicOptions resolve_topic_options(std::string_view name, const TopicOptions& requested,
                                                 StorageKind rules);

// The folder of one durable partition: "<dir>/<topic>-<partition>".
[[nodiscard]] std::string partition_dir(const std::string& dir, const std::string& topic, int partition);

}  // namespace rill::storage
