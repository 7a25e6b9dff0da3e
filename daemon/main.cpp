// filingd: the ICP filing ledger daemon. Wiring only; everything else lives in the libraries.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>

#include "config/config.hpp"
#include "daemon/api.hpp"
#include "daemon/embedded_kafka.hpp"
#include "daemon/http_server.hpp"
#include "daemon/kafka_publisher.hpp"
#include "daemon/timer_service.hpp"
#include "ledger/ledger.hpp"
#include "replay/rebuild.hpp"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "filingd: %s\n", message.c_str());
  return 2;
}

// Opens the ledger; if a crash interrupted a projection rebuild, finishes it first.
filingd::Result<std::unique_ptr<filingd::Ledger>> open_ledger(filingd::Ledger::Options options) {
  using namespace filingd;
  auto ledger = Ledger::open(options);
  if (ledger || ledger.error().code != ErrorCode::unavailable) return ledger;
  {
    auto store = Store::open({.path = options.data_dir});
    if (!store) return store.take_error();
    auto interrupted = rebuild_interrupted(**store);
    if (!interrupted) return interrupted.take_error();
    if (!*interrupted) return ledger;
    spdlog::warn("finishing an interrupted projection rebuild");
    auto stats = rebuild_projections(**store);
    if (!stats) return stats.take_error();
    spdlog::info("projections rebuilt from {} events", stats->events);
  }
  return Ledger::open(std::move(options));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace filingd;
  CLI::App app{"filingd: event-sourced ledger daemon for ICP website filings"};
  std::string config_path;
  FlagOverrides flags;
  app.add_option("--config", config_path, "TOML configuration file (default: built-in defaults)");
  app.add_option("--listen", flags.listen, "HOST:PORT to listen on (port 0: pick a free port)");
  app.add_option("--data-dir", flags.data_dir, "ledger directory (created if missing)");
  app.add_option("--kafka", flags.kafka, "embedded | off | host:port,... (brokers)");
  CLI11_PARSE(app, argc, argv);

  Result<Config> loaded =
      config_path.empty() ? Result<Config>(default_config()) : load_config(config_path);
  if (!loaded) return fail(loaded.error().message);
  Config config = std::move(*loaded);
  if (auto ok = apply_flags(config, flags); !ok) return fail(ok.error().message);
  if (!is_loopback(config.listen_host) && config.tokens.empty())
    return fail("refusing to listen on non-loopback address " + config.listen_host +
                " without [[auth.tokens]] configured");
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  // Connections, RocksDB files and Kafka sockets are all descriptors.
  const std::uint64_t open_files = raise_open_files_limit();

  // Block the shutdown signals in every thread; main waits for them with sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  Ledger::Options ledger_options;
  ledger_options.data_dir = config.data_dir;
  ledger_options.sms_policies = config.sms_policies;
  auto ledger = open_ledger(std::move(ledger_options));
  if (!ledger) return fail(ledger.error().message);
  spdlog::info("ledger open at {} (head seq {})", config.data_dir, (*ledger)->head().seq.value);

  SystemClock clock;
  Api api(**ledger, Authenticator(config.tokens), config.calendar, clock);
  HttpServer server(api, config.limits);
  api.context().extra_metrics.push_back(
      [&server](std::string& out) { server.render_metrics(out); });
  // Declared after the server: it runs on the server's io_context, so it must go first.
  TimerService timers(**ledger, clock);
  api.context().extra_metrics.push_back(
      [&timers](std::string& out) { timers.render_metrics(out); });

  // Kafka: the transactional outbox publisher, into the embedded cluster or real brokers.
  std::unique_ptr<EmbeddedKafka> embedded;
  std::unique_ptr<KafkaPublisher> publisher;
  if (config.kafka.mode != "off") {
    KafkaPublisher::Options po;
    if (config.kafka.mode == "embedded") {
      auto cluster =
          EmbeddedKafka::start({.topics = {config.kafka.events_topic, config.kafka.status_topic}});
      if (!cluster) return fail(cluster.error().message);
      embedded = std::move(*cluster);
      spdlog::info("kafka bootstrap: {}", embedded->bootstraps());
      po = KafkaPublisher::Options::embedded(embedded->bootstraps(), config.kafka.properties);
    } else {
      po.brokers = config.kafka.mode;
      po.properties = config.kafka.properties;
      spdlog::info("kafka brokers: {}", po.brokers);
    }
    po.events_topic = config.kafka.events_topic;
    po.status_topic = config.kafka.status_topic;
    auto started = KafkaPublisher::start(**ledger, std::move(po));
    if (!started) return fail(started.error().message);
    publisher = std::move(*started);
    api.context().extra_metrics.push_back(
        [p = publisher.get()](std::string& out) { p->render_metrics(out); });
    api.context().readiness = [p = publisher.get()](boost::json::object& out) {
      const KafkaPublisherStats s = p->stats();
      // Degraded, not dead: appends go on while Kafka is away; the lag shows how far behind.
      out["kafka"] = boost::json::object{{"lag", s.lag()},
                                         {"cursor", s.cursor.value},
                                         {"brokers_up", s.brokers_up},
                                         {"status", s.brokers_up ? "ok" : "degraded"}};
      return s.brokers_up;
    };
  }
  if (auto ok = server.start(config.listen_host, config.listen_port, config.limits.http_threads);
      !ok)
    return fail(ok.error().message);
  const bool v6 = config.listen_host.find(':') != std::string::npos;
  spdlog::info("open files limit {}, at most {} HTTP connections", open_files,
               server.max_connections());
  spdlog::info("filingd listening on http://{}{}{}:{}", v6 ? "[" : "", config.listen_host,
               v6 ? "]" : "", server.port());
  if (config.tokens.empty()) spdlog::warn("no auth tokens configured: loopback-only, full access");
  // Deadlines that passed while the daemon was down fire now, in due order.
  timers.start(server.io());

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("{} received: draining requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  timers.stop();
  server.stop();
  if (publisher) publisher->stop();  // flushes what is in flight, persists the cursor
  embedded.reset();
  ledger.value().reset();  // the writer finishes queued appends before the ledger closes
  spdlog::info("filingd stopped cleanly");
  return 0;
}
