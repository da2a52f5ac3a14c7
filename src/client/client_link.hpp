// ClientLink: a producer's or consumer's name and its entry in the node's
// broker::ClientRegistry (broker/client_registry.hpp). The owner declares it as its
// last member, so the entry is removed (~Registration) before any member
// that the registered snapshot function reads is destroyed.
#pragma once

#include <string>

#include "broker/client_registry.hpp"

namespace rill::client {

struct ClientLink {
  std::string client_id;
  broker::ClientRegistry::Registration registration;  // last: removed first
};

}  // namespace rill::client
