// Work queue: three workers in one group share a topic's six partitions.
// When a worker leaves, the group rebalances and the others take over its
// partitions from the offsets it committed, so no job is lost.
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "rill/rill.hpp"

namespace {

// Prints each worker's share of the partitions as the group moves them.
class PrintRebalance : public rill::RebalanceListener {
 public:
  explicit PrintRebalance(std::string name) : name_(std::move(name)) {}
  void on_partitions_revoked(const std::vector<rill::TopicPartition>& tps) override { print("revoked", tps); }
  void on_partitions_assigned(const std::vector<rill::TopicPartition>& tps) override { print("assigned", tps); }

 private:
  void print(const char* what, const std::vector<rill::TopicPartition>& tps) const {
    if (tps.empty()) return;
    std::printf("  %s %-8s", name_.c_str(), what);
    for (const auto& tp : tps) std::printf(" %s/%d", tp.topic.c_str(), tp.partition);
    std::printf("\n");
  }
  std::string name_;
};

struct Worker {
  std::string name;
  std::unique_ptr<PrintRebalance> listener;
  std::unique_ptr<rill::Consumer> consumer;
};

// Polls every worker once; returns the jobs they processed (and committed).
int poll_all(std::vector<Worker>& workers, std::set<std::string>& done) {
  int processed = 0;
  for (Worker& w : workers) {
    for (const rill::RecordView& r : w.consumer->poll(std::chrono::milliseconds(10))) {
      done.insert(std::string(r.value()));
      ++processed;
    }
    w.consumer->commit();
  }
  return processed;
}

}  // namespace

int main() {
  rill::Node node = rill::Node::in_memory();
  node.create_topic("jobs", {.partitions = 6});

  std::vector<Worker> workers;
  for (const char* name : {"worker-a", "worker-b", "worker-c"}) {
    Worker w{name, std::make_unique<PrintRebalance>(name),
             std::make_unique<rill::Consumer>(node, rill::ConsumerOptions{
                 .group = "resize",
                 .auto_offset_reset = rill::OffsetReset::earliest,
                 .max_poll_records = 20})};
    w.consumer->subscribe({"jobs"}, w.listener.get());
    workers.push_back(std::move(w));
  }

  rill::Producer producer(node);
  constexpr int kJobs = 600;
  for (int i = 0; i < kJobs; ++i) {
    const std::string job = "job-" + std::to_string(i);
    producer.send("jobs", {.key = job, .value = job}).get();
  }

  std::set<std::string> done;
  std::printf("three workers join:\n");
  for (int round = 0; round < 3; ++round) poll_all(workers, done);
  std::printf("after three rounds (20 jobs per poll): %zu of %d jobs done\n", done.size(), kJobs);

  std::printf("%s leaves:\n", workers.back().name.c_str());
  workers.back().consumer->close();
  workers.pop_back();
  for (int round = 0; round < 200 && static_cast<int>(done.size()) < kJobs; ++round) {
    poll_all(workers, done);
  }
  std::printf("done: %zu of %d distinct jobs processed by the two remaining workers\n",
              done.size(), kJobs);
  return static_cast<int>(done.size()) == kJobs ? 0 : 1;
}
