// The parent's side of one writer child: forks it, reads its messages into
// the ledger (checking their order as they come), and kills it when the
// kill plan says.
#pragma once

#include <chrono>
#include <cstdint>

#include "crash_checker.hpp"
#include "crash_writer.hpp"

namespace rill::crash {

// When the parent kills the writer: after this many acknowledgements or
// this delay, whichever comes first.
// The delay counts from the fork when `early` (so that some kills land in
// open, recovery or create_topic), else from the first acknowledgement (so
// that a slow start, as under sanitizers, does not turn every kill early).
struct KillPlan {
  std::uint64_t after_acks = 0;
  std::chrono::microseconds delay{0};
  bool early = false;
};

// Forks the writer, kills it as planned, and collects every message it
// managed to write. Adds a violation if the writer died otherwise than by
// SIGKILL, or reported something out of order. Returns true when it killed
// itself (at its crash point).
[[nodiscard]] bool run_writer_child(const WriterPlan& plan, const KillPlan& kill, Ledger& ledger,
                                    Findings& findings);

}  // namespace rill::crash
