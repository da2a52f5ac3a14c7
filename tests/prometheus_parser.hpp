// A strict reader of the Prometheus text exposition format (0.0.4) for
// tests: parse_exposition() checks each line as it reads it (HELP and TYPE
// before a family's samples, one family per name, samples of the current
// family only, well-formed labels and numbers, no duplicate series,
// cumulative histogram buckets ending in +Inf == _count) and returns the
// samples with their labels unescaped.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

namespace rill::test {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> type
  std::vector<Sample> samples;

  [[nodiscard]] std::string type_of(const std::string& family) const {
    const auto it = types.find(family);
    return it == types.end() ? std::string() : it->second;
  }
  [[nodiscard]] const Sample* find(const std::string& name, const Labels& labels) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return &s;
    }
    return nullptr;
  }
  [[nodiscard]] bool has(const std::string& name, const Labels& labels) const {
    return find(name, labels) != nullptr;
  }
  [[nodiscard]] double value(const std::string& name, const Labels& labels) const {
    const Sample* s = find(name, labels);
    INFO("sample " << name);
    REQUIRE(s != nullptr);
    return s->value;
  }
};

namespace prometheus_detail {

inline bool is_name(std::string_view s, bool metric) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Reads `name="value",...}` from line[at] (just after '{'); returns the labels.
inline Labels read_labels(const std::string& line, std::size_t& at) {
  Labels labels;
  for (;;) {
    const std::size_t eq = line.find('=', at);
    REQUIRE(eq != std::string::npos);
    const std::string name = line.substr(at, eq - at);
    CHECK(is_name(name, false));
    REQUIRE(eq + 1 < line.size());
    REQUIRE(line[eq + 1] == '"');
    std::string value;
    std::size_t i = eq + 2;
    for (; i < line.size() && line[i] != '"'; ++i) {
      if (line[i] != '\\') {
        value += line[i];
        continue;
      }
      REQUIRE(i + 1 < line.size());
      const char escaped = line[++i];
      REQUIRE((escaped == '\\' || escaped == '"' || escaped == 'n'));
      value += escaped == 'n' ? '\n' : escaped;
    }
    REQUIRE(i < line.size());
    CHECK(labels.emplace(name, value).second);
    at = i + 1;
    REQUIRE(at < line.size());
    if (line[at] == '}') {
      ++at;
      return labels;
    }
    REQUIRE(line[at] == ',');
    ++at;
  }
}

inline double read_value(const std::string& text) {
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return NAN;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  INFO("value \"" << text << "\"");
  REQUIRE(!text.empty());
  REQUIRE(end == text.c_str() + text.size());
  return v;
}

// The family a sample named `name` belongs to, given the current family.
inline bool belongs(const std::string& name, const std::string& family, const std::string& type) {
  if (name == family) return type != "histogram";
  if (type != "histogram") return false;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (name == family + suffix) return true;
  }
  return false;
}

inline void check_histograms(const Exposition& e) {
  for (const auto& [family, type] : e.types) {
    if (type != "histogram") continue;
    std::map<Labels, std::vector<std::pair<double, double>>> series;  // labels without le -> (le, count)
    for (const Sample& s : e.samples) {
      if (s.name != family + "_bucket") continue;
      Labels rest = s.labels;
      REQUIRE(rest.count("le") == 1);
      const double le = read_value(rest["le"]);
      rest.erase("le");
      series[rest].emplace_back(le, s.value);
    }
    for (const auto& [labels, buckets] : series) {
      for (std::size_t i = 1; i < buckets.size(); ++i) {
        CHECK(buckets[i - 1].first < buckets[i].first);
        CHECK(buckets[i - 1].second <= buckets[i].second);
      }
      REQUIRE(!buckets.empty());
      CHECK(std::isinf(buckets.back().first));
      CHECK(e.value(family + "_count", labels) == buckets.back().second);
      CHECK(e.has(family + "_sum", labels));
    }
  }
}

}  // namespace prometheus_detail

inline Exposition parse_exposition(const std::string& text) {
  using namespace prometheus_detail;
  Exposition e;
  std::set<std::string> helped;
  std::set<std::pair<std::string, Labels>> series;
  std::string family;  // the family whose samples may follow
  REQUIRE(!text.empty());
  REQUIRE(text.back() == '\n');
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    INFO("line: " << line);
    REQUIRE(!line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      const std::size_t space = line.find(' ', 7);
      const std::string name = line.substr(7, space - 7);
      CHECK(is_name(name, true));
      CHECK(space != std::string::npos);  // a help text follows
      CHECK(helped.insert(name).second);
      CHECK(e.types.count(name) == 0);
      family.clear();
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      const std::size_t space = line.find(' ', 7);
      REQUIRE(space != std::string::npos);
      const std::string name = line.substr(7, space - 7);
      const std::string type = line.substr(space + 1);
      CHECK(helped.count(name) == 1);  // HELP first, as rill writes it
      CHECK((type == "counter" || type == "gauge" || type == "histogram"));
      if (type == "counter") CHECK(name.size() > 6);
      if (type == "counter") CHECK(name.compare(name.size() - 6, 6, "_total") == 0);
      CHECK(e.types.emplace(name, type).second);
      family = name;
      continue;
    }
    REQUIRE(line[0] != '#');
    Sample s;
    std::size_t at = line.find_first_of("{ ");
    REQUIRE(at != std::string::npos);
    s.name = line.substr(0, at);
    CHECK(is_name(s.name, true));
    if (line[at] == '{') {
      ++at;
      s.labels = read_labels(line, at);
    }
    REQUIRE(at < line.size());
    REQUIRE(line[at] == ' ');
    s.value = read_value(line.substr(at + 1));
    REQUIRE(!family.empty());  // HELP and TYPE came before
    CHECK(belongs(s.name, family, e.types[family]));
    CHECK(series.emplace(s.name, s.labels).second);
    e.samples.push_back(std::move(s));
  }
  check_histograms(e);
  return e;
}

}  // namespace rill::test
