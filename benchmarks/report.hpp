// Figures of one (case, system) after all rounds, and the ways they are shown:
// a readable table, a JSON file and the list of same-run targets.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rill::bench {

// Medians over the successful rounds of one system in one case.
struct SystemStats {
  std::string case_name;
  std::string system;
  double msgs_per_s = 0;
  double mb_per_s = 0;  // MB = 10^6 bytes
  std::optional<double> p50_ns;
  std::optional<double> p99_ns;
  std::optional<double> p999_ns;
  int rounds = 0;      // rounds that completed and passed their checks
  std::string error;   // first failure, if any round failed
  std::string note;
  std::string durability;  // what an accepted record survives; empty if not applicable
  std::string skipped;     // why the system did not run here (not a failure)
  bool measures_rate = true;  // false: only `figures` mean something
  std::vector<std::pair<std::string, double>> figures;  // medians of named figures
};

// Prints the table header once.
void print_table_header();
// Prints the rows of one case and the ratios of rill to each peer.
void print_case(const std::vector<SystemStats>& rows);
// Prints each target with its measured ratio and whether it was met.
// Returns the number of targets missed.
int print_targets(const std::vector<SystemStats>& all);
// Writes every row as a JSON array; returns false if the file cannot be written.
[[nodiscard]] bool write_json(const std::string& path, const std::vector<SystemStats>& all);

}  // namespace rill::bench
