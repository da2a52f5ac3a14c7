// Durable topics of a node opened on a directory (node_durable.cpp).
// Callers hold NodeState::admin_mutex.
#pragma once

#include <string_view>

#include "rill/options.hpp"
#include "topic/node_state.hpp"

namespace rill::topic {

// `requested` with the durable defaults filled in (segment_bytes,
// max_record_bytes), validated. Throws Error(invalid_argument) naming the field.
[[nodiscard]] TopicOptions resolve_durable_options(std::string_view name, const TopicOptions& requested);

// Creates the partition folders, adds the topic to the node and writes the
// catalog. Throws Error(already_exists), Error(invalid_argument), Error(io).
void create_durable_topic(detail::NodeState& node, std::string_view name, const TopicOptions& requested);

// After `t` left the node's map: rewrites the catalog, refuses further
// appends to `t`, deletes its folders. Throws Error(io).
void delete_durable_topic(detail::NodeState& node, TopicState& t);

}  // namespace rill::topic
