// filingd: the ICP filing ledger daemon. Wiring only; everything else lives in the libraries.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "config/config.hpp"
#include "daemon/access_log.hpp"
#include "daemon/api.hpp"
#include "daemon/calendar_watch.hpp"
#include "daemon/http_server.hpp"
#include "daemon/timer_service.hpp"
#include "kafka/embedded_cluster.hpp"
#include "kafka/publisher.hpp"
#include "ledger/keyring.hpp"
#include "ledger/ledger.hpp"
#include "ledger/proofs.hpp"
#include "privacy/key_file.hpp"
#include "replay/rebuild.hpp"

namespace {

using namespace filingd;

int fail(const std::string& message) {
  std::fprintf(stderr, "filingd: %s\n", message.c_str());
  return 2;
}

// The keys of personal data, from the master key file (created on first start).
Result<std::shared_ptr<Keyring>> load_keyring(const std::string& path) {
  auto loaded = privacy::load_or_create_master_key(path);
  if (!loaded) return loaded.take_error();
  if (loaded->created)
    spdlog::warn(
        "created the master key file {}: back it up, apart from the data directory; "
        "without it the personal data in the ledger cannot be read",
        path);
  return Keyring::create(loaded->key);
}

// Signs the ledger's checkpoints (SPEC §8) with the key of ledger.signing_key_file, created on
// first start.
Result<std::unique_ptr<Checkpointer>> load_checkpointer(const Config& config) {
  const std::string path = signing_key_path(config);
  std::error_code ec;
  const bool existed = std::filesystem::exists(path, ec);
  auto signer = tlog::load_or_create_signing_key(path, config.origin);
  if (!signer) return signer.take_error();
  if (!existed)
    spdlog::warn("created the checkpoint signing key {}: back it up; auditors pin its verifier key",
                 path);
  spdlog::info("checkpoints of {} are signed by {}", config.origin, signer->vkey());
  return std::make_unique<Checkpointer>(std::move(*signer), config.origin);
}

// Opens the ledger; if a crash interrupted a projection rebuild, or the projections were built
// in another layout, rebuilds them first.
Result<std::unique_ptr<Ledger>> open_ledger(Ledger::Options options, Readiness& readiness) {
  auto ledger = Ledger::open(options);
  if (ledger || ledger.error().code != ErrorCode::unavailable) return ledger;
  {
    auto store = Store::open({.path = options.data_dir});
    if (!store) return store.take_error();
    auto needed = rebuild_needed(**store);
    if (!needed) return needed.take_error();
    if (!*needed) return ledger;
    spdlog::warn("rebuilding the projections (an interrupted rebuild, or another layout)");
    readiness.set(Readiness::Phase::starting, "rebuilding projections");
    auto stats = rebuild_projections(**store);
    if (!stats) return stats.take_error();
    spdlog::info("projections rebuilt from {} events", stats->events);
  }
  return Ledger::open(std::move(options));
}

// Kafka: the transactional outbox publisher, into the embedded cluster or real brokers.
struct Kafka {
  std::unique_ptr<EmbeddedKafka> embedded;
  std::unique_ptr<KafkaPublisher> publisher;
};

Result<Kafka> start_kafka(const KafkaConfig& config, Ledger& ledger,
                          const Checkpointer& checkpoints, const WorkCalendar& calendar) {
  Kafka k;
  if (config.mode == "off") return k;
  KafkaPublisher::Options po;
  if (config.mode == "embedded") {
    auto cluster = EmbeddedKafka::start({.topics = {config.events_topic, config.status_topic,
                                                    config.keys_topic, config.checkpoints_topic}});
    if (!cluster) return cluster.take_error();
    k.embedded = std::move(*cluster);
    spdlog::info("kafka bootstrap: {}", k.embedded->bootstraps());
    po = KafkaPublisher::Options::embedded(k.embedded->bootstraps(), config.properties);
  } else {
    po.brokers = config.mode;
    po.properties = config.properties;
    spdlog::info("kafka brokers: {}", po.brokers);
  }
  po.events_topic = config.events_topic;
  po.status_topic = config.status_topic;
  po.keys_topic = config.keys_topic;
  po.checkpoints_topic = config.checkpoints_topic;
  po.checkpoints = &checkpoints;
  po.personal_data = config.personal_data;
  po.calendar = &calendar;
  if (config.personal_data == PersonalView::clear)
    spdlog::warn(
        "kafka.personal_data = \"clear\": the topics carry ID numbers, names and mobile "
        "numbers in clear; only for a cluster as trusted as this machine");
  auto started = KafkaPublisher::start(ledger, std::move(po));
  if (!started) return started.take_error();
  k.publisher = std::move(*started);
  return k;
}

// Waits for SIGTERM or SIGINT and returns it. SIGHUP calls `reload`; `daily` runs every 24 hours
// (the calendar's coverage warning).
template <class Reload, class Daily>
int wait_for_stop(const sigset_t& signals, Reload reload, Daily daily) {
  const timespec day{24 * 60 * 60, 0};
  for (;;) {
    const int sig = sigtimedwait(&signals, nullptr, &day);
    if (sig == SIGHUP) {
      reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      return sig;
    } else if (sig < 0 && errno == EAGAIN) {
      daily();
    }
  }
}

int run(int argc, char** argv) {
  CLI::App app{"filingd: event-sourced ledger daemon for ICP website filings"};
  app.set_version_flag("--version", "filingd " FILINGD_VERSION);
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
  // Everything the daemon creates (the ledger's files, the key, the access log) is its own.
  ::umask(077);
  // Connections, RocksDB files and Kafka sockets are all descriptors.
  const std::uint64_t open_files = raise_open_files_limit();

  // Block the shutdown signals in every thread; main waits for them with sigwait below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Serving starts before the ledger opens, so that /healthz answers and /readyz says why the
  // daemon is not ready while a projection rebuild runs; /v1 answers 503 until then.
  if (auto ok = make_private(config.data_dir); !ok) return fail(ok.error().message);
  auto keyring = load_keyring(master_key_path(config));
  if (!keyring) return fail(keyring.error().message);
  auto checkpoints = load_checkpointer(config);
  if (!checkpoints) return fail(checkpoints.error().message);
  std::unique_ptr<AccessLog> access_log;
  if (const std::string path = access_log_path(config); !path.empty()) {
    auto opened = AccessLog::open(path);
    if (!opened) return fail(opened.error().message);
    access_log = std::move(*opened);
    spdlog::flush_every(std::chrono::seconds(1));
  }

  SystemClock clock;
  Api api(Authenticator(config.tokens), config.calendar, clock);
  api.context().public_metrics = metrics_are_public(config);
  api.context().checkpoints = checkpoints->get();
  Readiness& readiness = api.context().readiness;
  readiness.set(Readiness::Phase::starting, "opening the ledger");
  HttpServer server(api, config.limits, access_log.get());
  if (auto ok = server.start(config.listen_host, config.listen_port, config.limits.http_threads);
      !ok)
    return fail(ok.error().message);

  // Past here the server runs: a failure stops it before the ledger it may be using goes.
  const auto stop_and_fail = [&](const std::string& message) {
    server.stop();
    return fail(message);
  };
  Ledger::Options ledger_options;
  ledger_options.data_dir = config.data_dir;
  ledger_options.sms_policies = config.sms_policies;
  ledger_options.keyring = std::move(*keyring);
  auto ledger = open_ledger(std::move(ledger_options), readiness);
  if (!ledger) return stop_and_fail(ledger.error().message);
  spdlog::info("ledger open at {} (head seq {})", config.data_dir, (*ledger)->head().seq.value);
  api.attach_ledger(**ledger);

  TimerService timers(**ledger, clock);
  auto kafka = start_kafka(config.kafka, **ledger, **checkpoints, config.calendar);
  if (!kafka) return stop_and_fail(kafka.error().message);
  auto& ctx = api.context();
  ctx.add_metrics([&server](prometheus::Writer& w) { server.render_metrics(w); });
  ctx.add_metrics([&timers](prometheus::Writer& w) { timers.render_metrics(w); });
  ctx.add_metrics([&config, &clock](prometheus::Writer& w) {
    if (const auto left = calendar_days_left(config.calendar, clock.now()))
      w.gauge("filingd_calendar_days_left",
              "Days until the last day the working-day calendar covers (negative: past it).",
              static_cast<double>(*left));
  });
  if (KafkaPublisher* p = kafka->publisher.get()) {
    ctx.add_metrics([p](prometheus::Writer& w) { p->render_metrics(w); });
    ctx.set_dependencies([p](boost::json::object& out) {
      const KafkaPublisherStats s = p->stats();
      // Degraded, not dead: appends go on while Kafka is away; the lag shows how far behind.
      out["kafka"] = boost::json::object{{"lag", s.lag()},
                                         {"cursor", s.cursor.value},
                                         {"brokers_up", s.brokers_up},
                                         {"status", s.brokers_up ? "ok" : "degraded"}};
      return s.brokers_up;
    });
  }
  // Deadlines that passed while the daemon was down fire now, in due order.
  timers.start();
  readiness.set(Readiness::Phase::serving);

  const bool v6 = config.listen_host.find(':') != std::string::npos;
  spdlog::info("open files limit {}, at most {} HTTP connections", open_files,
               server.max_connections());
  spdlog::info("filingd listening on http://{}{}{}:{}", v6 ? "[" : "", config.listen_host,
               v6 ? "]" : "", server.port());
  if (config.tokens.empty()) spdlog::warn("no auth tokens configured: loopback-only, full access");

  log_calendar_coverage(config.calendar, clock.now());
  const int sig = wait_for_stop(
      signals,
      [&] {
        if (config_path.empty()) {
          spdlog::warn("SIGHUP: no --config file to reload");
          return;
        }
        auto reloaded = load_config(config_path);
        if (!reloaded) {
          spdlog::error("SIGHUP: {}; the calendar and SMS policies stay as they were",
                        reloaded.error().message);
          return;
        }
        config.calendar.replace_with(reloaded->calendar);
        (*ledger)->reload_sms_policies(reloaded->sms_policies);
        spdlog::info(
            "SIGHUP: reloaded the calendar ({} holidays, {} make-up working days) and {} SMS "
            "policies from {}; deadlines already pinned do not change",
            reloaded->calendar.holiday_count(), reloaded->calendar.workday_count(),
            reloaded->sms_policies.all().size(), config_path);
        log_calendar_coverage(config.calendar, clock.now());
      },
      [&] { log_calendar_coverage(config.calendar, clock.now()); });
  spdlog::info("{} received: draining requests", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  readiness.set(Readiness::Phase::stopping, "shutting down");
  timers.stop();
  server.stop();
  if (kafka->publisher) kafka->publisher->stop();  // flushes what is in flight, persists the cursor
  kafka->embedded.reset();
  ledger.value().reset();  // the writer finishes queued appends before the ledger closes
  spdlog::info("filingd stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run(argc, argv); }
