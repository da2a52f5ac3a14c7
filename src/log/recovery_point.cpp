#include "log/recovery_point.hpp"

#include <fmt/format.h>

#include <charconv>
#include <span>
#include <string_view>
#include <vector>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace rill::log {
namespace {

constexpr std::string_view kMagic = "rill-recovery-point 1 ";

std::string body_of(const RecoveryPoint& point) {
  return fmt::format("{}boot={} offset={}", kMagic, point.boot_id, point.offset);
}

std::uint64_t checksum_of(std::string_view body) noexcept { return XXH3_64bits(body.data(), body.size()); }

// The value after `key` up to the next space (or the end).
std::optional<std::string_view> field(std::string_view text, std::string_view key) {
  const std::size_t at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  text.remove_prefix(at + key.size());
  return text.substr(0, text.find(' '));
}

}  // namespace

std::optional<RecoveryPoint> read_recovery_point(FileSystem& fs, const std::string& dir) {
  const std::string path = join_path(dir, kRecoveryPointName);
  if (!fs.exists(path)) return std::nullopt;
  const std::vector<std::byte> bytes = fs.read_file(path);
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!text.starts_with(kMagic) || !text.ends_with('\n')) return std::nullopt;
  text.remove_suffix(1);
  const std::size_t sum_at = text.rfind(" checksum=");
  if (sum_at == std::string_view::npos) return std::nullopt;
  const std::string_view body = text.substr(0, sum_at);
  const std::string_view sum_text = text.substr(sum_at + 10);
  std::uint64_t sum = 0;
  if (std::from_chars(sum_text.data(), sum_text.data() + sum_text.size(), sum, 16).ec != std::errc{} ||
      sum != checksum_of(body)) {
    return std::nullopt;
  }
  const auto boot = field(body, "boot=");
  const auto offset_text = field(body, " offset=");
  RecoveryPoint point;
  if (!boot || !offset_text ||
      std::from_chars(offset_text->data(), offset_text->data() + offset_text->size(), point.offset).ec !=
          std::errc{} ||
      point.offset < 0) {
    return std::nullopt;
  }
  point.boot_id = std::string(*boot);
  return point;
}

void write_recovery_point(FileSystem& fs, const std::string& dir, const RecoveryPoint& point) {
  const std::string body = body_of(point);
  const std::string text = fmt::format("{} checksum={:016x}\n", body, checksum_of(body));
  replace_file(fs, dir, kRecoveryPointTempName, kRecoveryPointName,
               std::as_bytes(std::span<const char>(text.data(), text.size())));
}

}  // namespace rill::log
