#include "progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <fmt/format.h>

namespace rill::cli {

namespace {

constexpr const char* kEraseLine = "\r\033[K";

std::size_t terminal_width(int fd) noexcept {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

}  // namespace

ProgressLine::ProgressLine(std::FILE* to, bool enabled, std::size_t width) noexcept
    : to_(to), enabled_(enabled && to != nullptr), width_(width) {}

ProgressLine ProgressLine::for_stderr() noexcept {
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  return ProgressLine(stderr, terminal, terminal ? terminal_width(STDERR_FILENO) : 0);
}

ProgressLine::ProgressLine(ProgressLine&& other) noexcept
    : to_(other.to_),
      enabled_(other.enabled_),
      width_(other.width_),
      shown_(other.shown_),
      drawn_once_(other.drawn_once_),
      last_draw_(other.last_draw_) {
  other.enabled_ = false;
  other.shown_ = false;
}

ProgressLine::~ProgressLine() { clear(); }

bool ProgressLine::due(Clock::time_point now) const noexcept {
  return enabled_ && (!drawn_once_ || now - last_draw_ >= kMinInterval);
}

bool ProgressLine::update(std::string_view text, Clock::time_point now) {
  if (!due(now)) return false;
  // Cut before the last column: a line that fills it would wrap on some
  // terminals, and "\r" would then redraw only its second half.
  if (width_ > 1 && text.size() >= width_) text = text.substr(0, width_ - 1);
  fmt::print(to_, "{}{}", kEraseLine, text);
  std::fflush(to_);
  shown_ = true;
  drawn_once_ = true;
  last_draw_ = now;
  return true;
}

void ProgressLine::clear() noexcept {
  if (!shown_) return;
  std::fputs(kEraseLine, to_);
  std::fflush(to_);
  shown_ = false;
  drawn_once_ = false;
}

}  // namespace rill::cli
