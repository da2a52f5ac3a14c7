// Account balance, event-sourced. Deposits, withdrawals and closures go to the
// durable topic "account-events", keyed by account id, so each account's
// events stay in order. A projector applies them and writes each account's
// new balance to "account-balances", a compacted topic keyed by account id:
// only the newest value of a key has to be kept, and a closed account is a
// tombstone (a record without a value). After a restart the balances are
// rebuilt from the compacted topic alone (the newest value of a key wins, a
// tombstone deletes it) and checked against a rebuild from every event.
// Whether or not compaction has removed old values yet, the answer is the same.
// Run: account_balance [DIR]  (DIR: a new data directory, kept afterwards; by default a
// temporary one, removed at exit)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>
#include <unistd.h>

#include "rill/rill.hpp"

namespace {

using Balances = std::map<std::string, long long>;  // account id -> balance in cents

constexpr int kAccounts = 40;
constexpr int kEvents = 4'000;
constexpr int kClosedEvery = 5;  // accounts 0, 5, 10 ... are closed at the end

std::string account_id(int n) { return "account-" + std::to_string(n); }

// Applies one event ("deposit 500", "withdraw 200" or "close") to the balances.
void apply(Balances& balances, std::string_view account, std::string_view event) {
  if (event == "close") {
    balances.erase(std::string(account));
    return;
  }
  const long long cents = std::stoll(std::string(event.substr(event.find(' ') + 1)));
  balances[std::string(account)] += event.starts_with("withdraw") ? -cents : cents;
}

// The bank's front end: random deposits and withdrawals (never below zero),
// then the closures. Returns the number of events written.
int write_events(rill::Producer& producer) {
  std::mt19937 random(2026);
  Balances balances;
  int written = 0;
  auto send = [&](const std::string& account, const std::string& event) {
    producer.send("account-events", {.key = account, .value = event}).get();
    apply(balances, account, event);
    ++written;
  };
  for (int i = 0; i < kEvents; ++i) {
    const std::string account = account_id(static_cast<int>(random() % kAccounts));
    const long long cents = 100 + random() % 10'000;
    const bool withdraw = random() % 3 == 0 && balances[account] >= cents;
    send(account, (withdraw ? "withdraw " : "deposit ") + std::to_string(cents));
  }
  for (int n = 0; n < kAccounts; n += kClosedEvery) send(account_id(n), "close");
  return written;
}

// Reads every partition of `topic` from its oldest record to its end.
void read_topic(const rill::Node& node, const std::string& topic,
                const std::function<void(const rill::RecordView&)>& handle) {
  rill::Consumer consumer(node);
  std::vector<rill::TopicPartition> partitions;
  for (const rill::PartitionInfo& p : node.describe_topic(topic).partitions) {
    partitions.push_back({topic, p.partition});
  }
  consumer.assign(partitions);
  consumer.seek_to_beginning(partitions);
  auto behind = [&] {
    for (const rill::TopicPartition& tp : partitions) {
      if (consumer.lag(tp) > 0) return true;
    }
    return false;
  };
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (behind() && std::chrono::steady_clock::now() < give_up) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(100))) handle(r);
  }
}

// The projector: group "balance-projector" applies each event and writes the
// account's balance after it, or a tombstone once the account is closed.
void project_balances(const rill::Node& node, rill::Producer& producer, int events) {
  rill::Consumer consumer(node, {.group = "balance-projector",
                                 .auto_offset_reset = rill::OffsetReset::earliest});
  consumer.subscribe({"account-events"});
  Balances balances;
  int applied = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (applied < events && std::chrono::steady_clock::now() < give_up) {
    for (const rill::RecordView& r : consumer.poll(std::chrono::milliseconds(100))) {
      apply(balances, r.key(), r.value());
      const auto account = balances.find(std::string(r.key()));
      if (account == balances.end()) {
        producer.send("account-balances", {.key = r.key()}).get();  // no value: a tombstone
      } else {
        const std::string balance = std::to_string(account->second);
        producer.send("account-balances", {.key = r.key(), .value = balance}).get();
      }
      ++applied;
    }
    consumer.commit();
  }
  std::printf("projector applied %d events and wrote as many balance records\n", applied);
}

// The balances as the compacted topic holds them: the newest value of each
// account wins, a tombstone removes the account. Prints how many records
// compaction has left of those written.
Balances balances_from_snapshots(const rill::Node& node) {
  Balances balances;
  long long records_read = 0;
  read_topic(node, "account-balances", [&](const rill::RecordView& r) {
    if (r.has_value()) {
      balances[std::string(r.key())] = std::stoll(std::string(r.value()));
    } else {
      balances.erase(std::string(r.key()));
    }
    ++records_read;
  });
  long long records_written = 0;
  for (const rill::PartitionInfo& p : node.describe_topic("account-balances").partitions) {
    records_written += p.end_offset;
  }
  std::printf("rebuilt %zu balances from %lld of the %lld balance records written\n", balances.size(),
              records_read, records_written);
  return balances;
}

// The balances replayed from every event.
Balances balances_from_events(const rill::Node& node) {
  Balances balances;
  read_topic(node, "account-events", [&](const rill::RecordView& r) { apply(balances, r.key(), r.value()); });
  return balances;
}

bool run(const std::filesystem::path& dir) {
  {
    rill::Node node = rill::Node::open(dir);
    node.create_topic("account-events", {.partitions = 2,
                                         .storage = rill::StorageKind::durable,
                                         .segment_bytes = 64 * 1024});
    node.create_topic("account-balances", {.partitions = 2,
                                           .storage = rill::StorageKind::durable,
                                           .segment_bytes = 64 * 1024,
                                           .cleanup = rill::CleanupPolicy::compact});
    rill::Producer producer(node);
    const int events = write_events(producer);
    project_balances(node, producer, events);
  }  // the node closes here: the restart

  rill::Node node = rill::Node::open(dir);
  const Balances from_snapshots = balances_from_snapshots(node);
  const Balances from_events = balances_from_events(node);
  for (int n = 1; n <= kClosedEvery; ++n) {
    const auto account = from_snapshots.find(account_id(n));
    if (account == from_snapshots.end()) {
      std::printf("  %-10s closed\n", account_id(n).c_str());
    } else {
      const long long cents = account->second;
      std::printf("  %-10s %8lld.%02lld\n", account->first.c_str(), cents / 100, cents % 100);
    }
  }
  const int closed = (kAccounts + kClosedEvery - 1) / kClosedEvery;
  const bool same = from_snapshots == from_events && from_snapshots.size() == kAccounts - closed;
  std::printf("balances from snapshots %s the replay of every event; %d accounts open, %d closed\n",
              same ? "match" : "DO NOT MATCH", kAccounts - closed, closed);
  return same;
}

}  // namespace

int main(int argc, char** argv) {
  const bool keep_dir = argc > 1;
  const std::filesystem::path dir = keep_dir ? std::filesystem::path(argv[1])
                                             : std::filesystem::temp_directory_path() /
                                                   ("rill-account-balance-" + std::to_string(::getpid()));
  if (!keep_dir) std::filesystem::remove_all(dir);
  bool ok = false;
  try {
    ok = run(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  if (!keep_dir) std::filesystem::remove_all(dir);
  return ok ? 0 : 1;
}
