// The replay driver shared by the fuzz targets when they are not built with
// libFuzzer (RILL_FUZZ_REPLAY): a main() that runs LLVMFuzzerTestOneInput on
// every file named (directories are walked), then on variants of each file:
// truncations and single-bit flips. Targets whose inputs are cheap replay
// every variant; targets that touch the disk pass a budget, and the variants
// are then spread evenly over the file (every k-th cut and every k-th bit).
// Include it once, at the end of a target's source file.
#pragma once

#ifdef RILL_FUZZ_REPLAY
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace rill::fuzz {

inline std::vector<std::uint8_t> read_input(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Runs `input`, then about `budget` truncations and `budget` bit flips of it
// (all of them when there are fewer).
inline void replay_with_variants(const std::vector<std::uint8_t>& input, std::size_t budget) {
  LLVMFuzzerTestOneInput(input.data(), input.size());
  const std::size_t bits = input.size() * 8;
  const std::size_t cut_step = input.size() / budget + 1;
  for (std::size_t n = 0; n < input.size(); n += cut_step) {
    const std::vector<std::uint8_t> cut(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(n));
    LLVMFuzzerTestOneInput(cut.data(), cut.size());
  }
  std::vector<std::uint8_t> flipped = input;
  const std::size_t bit_step = bits / budget + 1;
  for (std::size_t bit = 0; bit < bits; bit += bit_step) {
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    LLVMFuzzerTestOneInput(flipped.data(), flipped.size());
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  }
}

inline int replay_main(int argc, char** argv, std::size_t budget) {
  std::size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::vector<std::filesystem::path> paths;
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) paths.push_back(entry.path());
    } else {
      paths.push_back(arg);
    }
    for (const auto& path : paths) {
      replay_with_variants(read_input(path), budget);
      ++files;
    }
  }
  std::cout << "replayed " << files << " inputs with their truncations and bit flips\n";
  return files > 0 ? 0 : 1;
}

}  // namespace rill::fuzz

#ifndef RILL_FUZZ_REPLAY_BUDGET
#define RILL_FUZZ_REPLAY_BUDGET (std::size_t{1} << 20)
#endif

int main(int argc, char** argv) { return rill::fuzz::replay_main(argc, argv, RILL_FUZZ_REPLAY_BUDGET); }
#endif
