// ProgressLine: one line of progress on a terminal, for long commands
// (verify, dump of a large file, consume --max of many records).
//
// It draws only when enabled, and for_stderr() enables it only when
// standard error is a terminal: piped or redirected output never carries
// progress. Each update redraws the line in place ("\r", the text, "erase to
// end of line"), at most once per kMinInterval (the first update always
// draws); clear() erases it, so that a result line printed next starts
// clean, and the destructor clears it too. Text longer than the terminal is
// cut so that it never wraps. Not thread-safe: one owner.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace rill::cli {

class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kMinInterval{100};

  // Draws on `to` when `enabled`; `width` is the terminal's width in columns
  // (0: unknown, no cut).
  ProgressLine(std::FILE* to, bool enabled, std::size_t width = 0) noexcept;
  // Draws on stderr when it is a terminal (isatty), else never.
  [[nodiscard]] static ProgressLine for_stderr() noexcept;
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ProgressLine(ProgressLine&& other) noexcept;
  ProgressLine& operator=(ProgressLine&&) = delete;

  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  // True when an update at `now` would draw: callers may skip building text.
  [[nodiscard]] bool due(Clock::time_point now = Clock::now()) const noexcept;
  // Redraws the line with `text` if due at `now`; returns whether it drew.
  bool update(std::string_view text, Clock::time_point now = Clock::now());
  // Erases the line if one is shown; the next update draws at once.
  void clear() noexcept;

 private:
  std::FILE* to_;
  bool enabled_;
  std::size_t width_;
  bool shown_ = false;
  bool drawn_once_ = false;
  Clock::time_point last_draw_{};
};

}  // namespace rill::cli
