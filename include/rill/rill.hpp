// rill: Kafka's model (topics, partitions, offsets, consumer groups) as an
// embeddable library. Include this one header for the whole public API.
#pragma once

#include "rill/consumer.hpp"
#include "rill/error.hpp"
#include "rill/group.hpp"
#include "rill/metrics.hpp"
#include "rill/node.hpp"
#include "rill/options.hpp"
#include "rill/producer.hpp"
#include "rill/record.hpp"
#include "rill/topic.hpp"
#include "rill/version.hpp"
#include "rill/version_check.hpp"
