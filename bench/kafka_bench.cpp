// The Kafka publisher (SPEC §2.3) against the embedded cluster as the daemon starts it
// (librdkafka's mock brokers on loopback; EmbeddedKafka::Options' defaults), reported in
// docs/PERFORMANCE.md:
//
//   catch-up   events/s confirmed delivered when the publisher starts on an N-event ledger
//              (default 1,000,000) with an empty cluster, i.e. what `--kafka embedded` does at
//              every start. The ledger is 250,000 filings of 4 events each (a submission and
//              three photo rejections), interleaved in waves of 4,096 filings; an event carries
//              its filing's status only if it is the filing's latest, so 250,000 status
//              messages besides the 1,000,000 events.
//   latency    appends at a fixed rate (default 1,000/s for 10 s) while a consumer reads the
//              events topic; per event: append call -> consumed, and durable -> consumed.
//
// Not a Google Benchmark: one-shot measurements of a large data set. The ledger is generated
// once through Ledger::append_async and cached in $FILINGD_BENCH_DIR (default /tmp).
//
//   kafka_bench [--events 1000000] [--rate 1000] [--seconds 10] [--linger-ms 5]
//               [--compression lz4|none|...] [--encode-threads N] [--fingerprints on|off]
//               [--only catchup|latency]
#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tests/samples/samples.hpp"
#include "kafka/embedded_cluster.hpp"
#include "kafka/publisher.hpp"
#include "ledger/ledger.hpp"

using namespace filingd;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

constexpr const char* kEvents = "filing.events";
constexpr const char* kStatus = "filing.status";
const int kPartitions = EmbeddedKafka::Options{}.partitions;

fs::path bench_root() {
  if (const char* d = std::getenv("FILINGD_BENCH_DIR"); d != nullptr && *d != '\0') return d;
  return fs::temp_directory_path();
}

double seconds_since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

// User + system CPU seconds of the whole process (every thread, the mock brokers included).
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  return -1;
}

AppendCommand submission(std::uint64_t n) {
  AppendCommand c;
  c.filing_id = "F" + std::to_string(n);
  c.data = samples::submission(n, "bench-kafka.cn");
  c.actor = "desk-1";
  return c;
}

AppendCommand photo_rejected(std::uint64_t n) {
  AppendCommand c;
  c.filing_id = "F" + std::to_string(n);
  c.data = samples::photo_rejected();
  c.actor = "rev-1";
  return c;
}

// Appends `commands` asynchronously (they share group commits) and waits for all of them.
bool append_all(Ledger& ledger, std::vector<AppendCommand> commands) {
  std::atomic<std::size_t> left{commands.size()};
  std::atomic<bool> failed{false};
  std::promise<void> done;
  if (commands.empty()) return true;
  for (auto& c : commands) {
    ledger.append_async(std::move(c), [&](Result<AppendResult> r) {
      if (!r && !failed.exchange(true))
        std::fprintf(stderr, "append failed: %s\n", r.error().message.c_str());
      if (left.fetch_sub(1) == 1) done.set_value();
    });
  }
  done.get_future().wait();
  return !failed;
}

// n events: n/4 filings, each a submission and three photo rejections, in waves of 4096
// filings that advance one step at a time (filings interleave in the log).
bool generate(const std::string& dir, std::uint64_t n) {
  std::printf("generating a %llu-event ledger in %s ...\n", static_cast<unsigned long long>(n),
              dir.c_str());
  const auto t0 = Steady::now();
  auto ledger = Ledger::open({.data_dir = dir});
  if (!ledger) {
    std::fprintf(stderr, "%s\n", ledger.error().message.c_str());
    return false;
  }
  constexpr std::uint64_t kWave = 4096;
  const std::uint64_t filings = n / 4;
  for (std::uint64_t first = 1; first <= filings; first += kWave) {
    const std::uint64_t last = std::min(filings, first + kWave - 1);
    for (int step = 0; step < 4; ++step) {
      std::vector<AppendCommand> wave;
      for (std::uint64_t f = first; f <= last; ++f)
        wave.push_back(step == 0 ? submission(f) : photo_rejected(f));
      if (!append_all(**ledger, std::move(wave))) return false;
    }
  }
  std::printf("  %llu events in %.1f s\n",
              static_cast<unsigned long long>((*ledger)->head().seq.value), seconds_since(t0));
  return true;
}

std::string g_compression;      // empty: what --kafka embedded uses
unsigned g_encode_threads = 0;  // 0: the publisher's default (one per core, at most 4)
bool g_fingerprints = false;    // embedded mode sends none (nothing restores from it)

KafkaPublisher::Options publisher_options(const EmbeddedKafka& kafka, int linger_ms) {
  std::vector<std::pair<std::string, std::string>> props = {
      {"linger.ms", std::to_string(linger_ms)}};
  if (!g_compression.empty()) props.emplace_back("compression.type", g_compression);
  auto o = KafkaPublisher::Options::embedded(kafka.bootstraps(), std::move(props));
  o.events_topic = kEvents;
  o.status_topic = kStatus;
  o.encode_threads = g_encode_threads;
  o.fingerprint_header = g_fingerprints;
  return o;
}

std::int64_t topic_messages(const std::string& brokers, const char* topic) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  std::int64_t total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    std::int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10'000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR)
      total += hi - lo;
  }
  rd_kafka_destroy(rk);
  return total;
}

// ---- catch-up ----------------------------------------------------------------------------

int catch_up(std::uint64_t n, int linger_ms) {
  const std::string pristine =
      (bench_root() / ("filingd-kafka-bench-" + std::to_string(n))).string();
  if (!fs::exists(pristine + "/CURRENT")) {
    fs::remove_all(pristine);
    if (!generate(pristine, n)) return 1;
  }
  auto ledger = Ledger::open({.data_dir = pristine});
  if (!ledger) {
    std::fprintf(stderr, "%s\n", ledger.error().message.c_str());
    return 1;
  }
  const Seq head = (*ledger)->head().seq;
  auto kafka = EmbeddedKafka::start({.topics = {kEvents, kStatus}});
  if (!kafka) return 1;
  const long rss_before = rss_mib();
  const double cpu0 = cpu_seconds();
  const auto t0 = Steady::now();
  auto pub = KafkaPublisher::start(**ledger, publisher_options(**kafka, linger_ms));
  if (!pub) {
    std::fprintf(stderr, "%s\n", pub.error().message.c_str());
    return 1;
  }
  if (!(*pub)->wait_for_cursor(head, std::chrono::minutes(10))) {
    std::fprintf(stderr, "catch-up did not finish: %s\n", (*pub)->stats().last_error.c_str());
    return 1;
  }
  const double secs = seconds_since(t0);
  const double cpu = cpu_seconds() - cpu0;
  const auto stats = (*pub)->stats();
  (*pub)->stop();
  const std::int64_t events = topic_messages((*kafka)->bootstraps(), kEvents);
  const std::int64_t statuses = topic_messages((*kafka)->bootstraps(), kStatus);
  std::printf(
      "catch-up: %llu events confirmed in %.2f s = %.0f events/s; CPU %.2f s "
      "(%.1f us/event, all threads; %u cores; fingerprints %s)\n",
      static_cast<unsigned long long>(head.value), secs, static_cast<double>(head.value) / secs,
      cpu, cpu * 1e6 / static_cast<double>(head.value), std::thread::hardware_concurrency(),
      g_fingerprints ? "on" : "off");
  std::printf("  produced %llu events, %llu status messages; errors %llu; RSS %ld -> %ld MiB\n",
              static_cast<unsigned long long>(stats.produced),
              static_cast<unsigned long long>(stats.status_messages),
              static_cast<unsigned long long>(stats.errors), rss_before, rss_mib());
  // The mock broker keeps only the newest ~5 MB of batches per partition (librdkafka 2.0),
  // so the topics retain the tail of a large ledger.
  std::printf("  retained by the mock: %s %lld messages, %s %lld messages\n", kEvents,
              static_cast<long long>(events), kStatus, static_cast<long long>(statuses));
  // The cursor, not stats.delivered: the publisher bumps `delivered` just after it advances the
  // cursor and wakes wait_for_cursor(), so a snapshot taken at once may still lack the last
  // batch (a run then failed now and then although every event was confirmed).
  return stats.cursor.value >= head.value ? 0 : 1;
}

// ---- latency -----------------------------------------------------------------------------

struct Timing {
  Steady::time_point called;
  Steady::time_point durable;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int latency(int rate, int seconds, int linger_ms) {
  const fs::path dir = bench_root() / ("filingd-kafka-bench-latency-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto kafka = EmbeddedKafka::start({.topics = {kEvents, kStatus}});
  if (!kafka) return 1;
  int rc = 0;
  {
    auto ledger = Ledger::open({.data_dir = dir.string()});
    if (!ledger) return 1;
    auto pub = KafkaPublisher::start(**ledger, publisher_options(**kafka, linger_ms));
    if (!pub) return 1;

    // The consumer: every partition from its start, short fetch waits (a latency-sensitive
    // consumer's setting; the mock broker holds a fetch for up to fetch.wait.max.ms).
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (auto [k, v] : {std::pair{"bootstrap.servers", (*kafka)->bootstraps().c_str()},
                        std::pair{"group.id", "kafka-bench"}, std::pair{"fetch.wait.max.ms", "5"},
                        std::pair{"enable.auto.commit", "false"}})
      rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr);
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(kPartitions);
    for (int p = 0; p < kPartitions; ++p)
      rd_kafka_topic_partition_list_add(parts, kEvents, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);

    // The first kWarmUp events (connections, metadata, the consumer's first fetches) are not
    // measured. Events are matched by event_id ("lat-<i>"), set before the append, so the
    // consumer can never see an event whose send time is unknown.
    constexpr std::uint64_t kWarmUp = 200;
    const std::uint64_t total =
        kWarmUp + static_cast<std::uint64_t>(rate) * static_cast<std::uint64_t>(seconds);
    std::vector<std::atomic<std::int64_t>> called(total), durable(total);  // steady ns
    auto ns = [](Steady::time_point t) {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    };
    std::mutex mu;
    std::condition_variable all_consumed;
    std::vector<double> append_to_consumed, durable_to_consumed;  // guarded by mu
    std::uint64_t consumed = 0;                                   // guarded by mu
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
        if (m == nullptr) continue;
        const std::int64_t now = ns(Steady::now());
        rd_kafka_headers_t* h = nullptr;
        const void* v = nullptr;
        std::size_t size = 0;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(h, "event_id", &v, &size) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const std::string id(static_cast<const char*>(v), size);
          const std::uint64_t i = std::stoull(id.substr(4));  // "lat-<i>"
          std::lock_guard lock(mu);
          if (i >= kWarmUp) {
            append_to_consumed.push_back(static_cast<double>(now - called[i].load()) / 1e6);
            durable_to_consumed.push_back(static_cast<double>(now - durable[i].load()) / 1e6);
          }
          if (++consumed == total) all_consumed.notify_all();
        }
        rd_kafka_message_destroy(m);
      }
    });

    // Paced appends: a submission every 4th, photo rejections otherwise. Waiting for the next
    // send time paces the load; it synchronises nothing.
    const auto period = std::chrono::nanoseconds(1'000'000'000 / rate);
    std::atomic<std::uint64_t> failed{0};
    Steady::time_point start;
    for (std::uint64_t i = 0; i < total; ++i) {
      if (i == kWarmUp) start = Steady::now();
      if (i >= kWarmUp)
        std::this_thread::sleep_until(start + period * static_cast<long>(i - kWarmUp));
      const std::uint64_t filing = i / 4 + 1;
      AppendCommand c = i % 4 == 0 ? submission(filing) : photo_rejected(filing);
      c.event_id = "lat-" + std::to_string(i);
      called[i] = ns(Steady::now());
      durable[i] = called[i].load();
      (*ledger)->append_async(std::move(c), [&, i](Result<AppendResult> r) {
        if (!r) failed.fetch_add(1);
        durable[i] = ns(Steady::now());
      });
      if (i + 1 == kWarmUp) {
        // Let the warm-up drain before measuring.
        (*pub)->wait_for_cursor(Seq(kWarmUp), std::chrono::seconds(30));
        std::unique_lock lock(mu);
        all_consumed.wait_for(lock, std::chrono::seconds(30), [&] { return consumed >= kWarmUp; });
      }
    }
    const double achieved = static_cast<double>(total - kWarmUp) / seconds_since(start);
    const bool all = (*pub)->wait_for_cursor(Seq(total), std::chrono::seconds(60));
    {
      std::unique_lock lock(mu);
      all_consumed.wait_for(lock, std::chrono::seconds(30), [&] { return consumed == total; });
    }
    stop = true;
    reader.join();
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    std::printf(
        "latency at %d appends/s for %d s (achieved %.0f/s, linger.ms=%d): %llu of %llu "
        "consumed%s\n",
        rate, seconds, achieved, linger_ms, static_cast<unsigned long long>(consumed),
        static_cast<unsigned long long>(total), all ? "" : " (publisher did not finish)");
    std::printf("  append -> consumed  p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
                percentile(append_to_consumed, 0.5), percentile(append_to_consumed, 0.99),
                percentile(append_to_consumed, 1.0));
    std::printf("  durable -> consumed p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
                percentile(durable_to_consumed, 0.5), percentile(durable_to_consumed, 0.99),
                percentile(durable_to_consumed, 1.0));
    if (failed || consumed < total) rc = 1;
  }
  fs::remove_all(dir);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t events = 1'000'000;
  int rate = 1000, seconds = 10, linger_ms = 5;  // the publisher's defaults
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--events") events = std::stoull(argv[i + 1]);
    if (flag == "--rate") rate = std::stoi(argv[i + 1]);
    if (flag == "--seconds") seconds = std::stoi(argv[i + 1]);
    if (flag == "--linger-ms") linger_ms = std::stoi(argv[i + 1]);
    if (flag == "--only") only = argv[i + 1];
    if (flag == "--fingerprints") g_fingerprints = std::string(argv[i + 1]) == "on";
    if (flag == "--compression") g_compression = argv[i + 1];
    if (flag == "--encode-threads")
      g_encode_threads = static_cast<unsigned>(std::stoi(argv[i + 1]));
  }
  int rc = 0;
  if (only.empty() || only == "catchup") rc |= catch_up(events, linger_ms);
  if (only.empty() || only == "latency") rc |= latency(rate, seconds, linger_ms);
  return rc;
}
