// Durable topics of a node opened on a directory (node_durable.cpp).
// Callers hold NodeState::admin_mutex.
#pragma once

#include <string_view>

#include "rill/options.hpp"
#include "broker/node_state.hpp"

namespace rill::broker {

// Creates the partition folders, adds the topic to the node and writes the
// catalog. Throws Error(already_exists), Error(invalid_argument), Error(io).
void create_durable_topic(detail::NodeState& node, std::string_view name, const TopicOptions& requested);

// After `t` left the node's map: rewrites the catalog, refuses further
// appends to `t`, deletes its folders. Throws Error(io).
void delete_durable_topic(detail::NodeState& node, storage::TopicState& t);

}  // namespace rill::broker
