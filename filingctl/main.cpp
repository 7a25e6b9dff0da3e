// filingctl: the auditors' and operators' tool (SPEC §3.2). A thin shell over the replay
// library: each subcommand opens the data directory, calls one library function and prints.
//
// The read-only commands (history, replay, verify, export) open the ledger as a RocksDB
// secondary instance, so they work, and never interfere, while the daemon runs; each sees one
// consistent point of the log. rebuild-projections and import need the ledger offline.
//
// Output is for people by default and JSON with --json. Exit codes: 0 ok, 1 verification
// failed or not found, 2 usage or I/O error.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "events/encoding.hpp"
#include "events/json.hpp"
#include "filingctl/import_command.hpp"
#include "filingctl/key_option.hpp"
#include "filingctl/output.hpp"
#include "filingctl/tlog_commands.hpp"
#include "filingctl/verify_command.hpp"
#include "kafka/restore.hpp"
#include "projections/state_machine.hpp"
#include "replay/export.hpp"
#include "replay/filing_export.hpp"
#include "replay/history.hpp"
#include "replay/open.hpp"
#include "replay/rebuild.hpp"

namespace filingd {
namespace {

namespace json = boost::json;
using namespace ctl;

// A point of the log from a time flag (`flag`, empty if not given) and a seq flag; nullopt
// (after printing why) for a time that does not parse.
std::optional<ReplayPoint> replay_point(const std::string& time, const char* flag,
                                        std::optional<std::uint64_t> seq) {
  ReplayPoint point;
  if (!time.empty()) {
    point.until = parse_rfc3339(time);
    if (!point.until) {
      fail(std::string(flag) + " must be an RFC 3339 time, e.g. 2026-11-22T08:00:00Z", kUsage);
      return std::nullopt;
    }
  }
  if (seq) point.until_seq = Seq(*seq);
  return point;
}

// ---- subcommands -------------------------------------------------------------------------

struct HistoryArgs {
  std::string data_dir;
  std::string key_file;
  std::string filing_id;
  std::string as_of;
  std::optional<std::uint64_t> as_of_seq;
  bool json = false;
};

int run_history(const HistoryArgs& a) {
  const auto parsed = replay_point(a.as_of, "--as-of", a.as_of_seq);
  if (!parsed) return kUsage;
  const ReplayPoint& point = *parsed;
  auto store = open_for_reading(a.data_dir);
  if (!store) return fail(store.error());
  auto personal = open_personal(**store, a.data_dir, a.key_file);
  if (!personal) return fail(personal.error());
  auto events = filing_events(**store, a.filing_id);
  if (!events) return fail(events.error());
  if (events->empty()) return fail("filing " + a.filing_id + " not found", kFailed);
  for (Event& e : *events) (*personal)->open(e);

  if (point.until || point.until_seq) {
    auto s = fold_filing(*events, point);
    if (!s) return fail(s.error());
    if (!*s) return fail("filing " + a.filing_id + " did not exist " + point_text(point), kFailed);
    if (a.json) {
      print_json(status_to_json(**s, PersonalView::clear));
    } else {
      print_status(**s);
      std::printf("  %-22s %s\n", "point", point_text(point).c_str());
    }
    return kOk;
  }
  if (a.json) {
    json::array items;
    for (const Event& e : *events) items.emplace_back(event_to_json(e));
    print_json(json::object{{"filing_id", a.filing_id}, {"items", std::move(items)}});
  } else {
    std::printf("filing %s: %zu events\n", a.filing_id.c_str(), events->size());
    for (const Event& e : *events) std::printf("%s\n", history_line(e).c_str());
  }
  return kOk;
}

struct ReplayArgs {
  std::string data_dir;
  std::string key_file;
  std::string until;
  std::optional<std::uint64_t> until_seq;
  std::string filing;
  bool json = false;
};

int run_replay(const ReplayArgs& a) {
  const auto parsed = replay_point(a.until, "--until", a.until_seq);
  if (!parsed) return kUsage;
  const ReplayPoint& point = *parsed;
  auto store = open_for_reading(a.data_dir);
  if (!store) return fail(store.error());
  std::optional<std::string_view> only;
  if (!a.filing.empty()) only = a.filing;
  auto personal = open_personal(**store, a.data_dir, a.key_file);
  if (!personal) return fail(personal.error());
  auto statuses = replay_log(**store, point, only);
  if (!statuses) return fail(statuses.error());
  for (auto& [id, s] : *statuses) (*personal)->open(s);
  if (only && statuses->empty())
    return fail("filing " + a.filing + " did not exist " + point_text(point), kFailed);
  if (a.json) {
    json::array items;
    for (const auto& [id, s] : *statuses)
      items.emplace_back(status_to_json(s, PersonalView::clear));
    json::object o = point_json(point);
    o["count"] = statuses->size();
    o["filings"] = std::move(items);
    print_json(o);
  } else {
    std::printf("%zu filings %s\n", statuses->size(), point_text(point).c_str());
    for (const auto& [id, s] : *statuses) std::printf("%s\n", status_line(s).c_str());
  }
  return kOk;
}

int run_rebuild(const std::string& data_dir, const RebuildOptions& options, bool as_json) {
  auto store = open_offline(data_dir);
  if (!store) return fail(store.error());
  auto stats = rebuild_projections(**store, options);
  if (!stats) return fail(stats.error());
  const Hash& digest = stats->digest;
  if (as_json) {
    print_json(json::object{{"events", stats->events},
                            {"head_seq", stats->head.value},
                            {"projections_digest", to_hex(digest)}});
  } else {
    std::printf("rebuilt projections from %llu events (head seq %llu), digest %s\n",
                static_cast<unsigned long long>(stats->events),
                static_cast<unsigned long long>(stats->head.value), to_hex(digest).c_str());
  }
  return kOk;
}

struct ExportArgs {
  std::string data_dir;
  std::string key_file;
  std::string format;
  std::string output;
  bool per_filing = false;
  std::string config;  // per filing: the calendar of the SLA columns
};

int run_export(const ExportArgs& a) {
  auto format = parse_export_format(a.format);
  if (!format) return fail("--format must be jsonl or csv", kUsage);
  auto store = open_for_reading(a.data_dir);
  if (!store) return fail(store.error());
  auto personal = open_personal(**store, a.data_dir, a.key_file);
  if (!personal) return fail(personal.error());
  const std::string& output = a.output;
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!output.empty() && output != "-") {
    file.open(output, std::ios::binary | std::ios::trunc);
    if (!file) return fail("cannot write " + output, kUsage);
    out = &file;
  }
  WorkCalendar calendar;
  if (!a.config.empty()) {
    auto config = load_config(a.config);
    if (!config) return fail(config.error().message, kUsage);
    calendar = config->calendar;
  }
  auto n = a.per_filing ? export_filings(**store, *format, *out, calendar, SystemClock().now(),
                                         personal->get())
                        : export_events(**store, *format, *out, personal->get());
  if (!n) return fail(n.error());
  if (file.is_open()) {
    file.close();
    if (!file) return fail("cannot write " + output, kUsage);
  }
  std::fprintf(stderr, "filingctl: exported %llu %s\n", static_cast<unsigned long long>(*n),
               a.per_filing ? "filings" : "events");
  return kOk;
}

int run(int argc, char** argv) {
  CLI::App app{
      "filingctl: audit, replay and maintain a filingd ledger (works while filingd "
      "runs, except rebuild-projections)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "filingctl " FILINGD_VERSION);
  app.set_help_all_flag("--help-all", "help for every subcommand");

  auto data_dir_option = [](CLI::App* sub, std::string& dir) {
    sub->add_option("--data-dir", dir, "the ledger's data directory")->required();
  };
  auto memory_option = [](CLI::App* sub, std::size_t& mib) {
    sub->add_option("--memory-budget", mib,
                    "MiB the pass may hold in memory before it writes to disk (the ledger's "
                    "64 MiB block cache and RocksDB's own buffers come on top)")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{16}, std::size_t{64} << 10));
  };
  auto scratch_option = [](CLI::App* sub, std::string& dir) {
    sub->add_option("--scratch-dir", dir,
                    "where the pass keeps the projections it rebuilds (default: the system temp "
                    "dir; needs about the projections' disk space)");
  };
  auto key_file_option = [](CLI::App* sub, std::string& file) {
    sub->add_option("--key-file", file,
                    "the master key that opens personal data (default: filingd.key beside the "
                    "data directory; without it personal data prints as [encrypted])");
  };

  HistoryArgs history;
  auto* h = app.add_subcommand("history", "a filing's timeline, or its status as of a time");
  data_dir_option(h, history.data_dir);
  key_file_option(h, history.key_file);
  h->add_option("filing_id", history.filing_id, "the filing")->required();
  h->add_option("--as-of", history.as_of, "RFC 3339 time: the status as of then");
  h->add_option("--as-of-seq", history.as_of_seq, "the status as of this ledger seq");
  h->add_flag("--json", history.json, "JSON envelopes / status JSON");

  ReplayArgs replay;
  auto* r = app.add_subcommand("replay", "every filing's state as of a point of the log");
  data_dir_option(r, replay.data_dir);
  key_file_option(r, replay.key_file);
  auto* until = r->add_option("--until", replay.until, "RFC 3339 time (business time)");
  auto* until_seq = r->add_option("--until-seq", replay.until_seq, "ledger seq");
  until->excludes(until_seq);
  r->add_option("--filing", replay.filing, "only this filing");
  r->add_flag("--json", replay.json, "JSON output");

  VerifyArgs verify;
  auto* v = app.add_subcommand(
      "verify", "hash chain, seq/version continuity, indexes and projections == rebuild");
  data_dir_option(v, verify.data_dir);
  v->add_option("--expect-head", verify.expect_head,
                "SEQ:HASH kept from earlier: prove the log up to SEQ was not rewritten");
  v->add_option("--since", verify.since,
                "an auditor's saved checkpoint (filingctl checkpoint, GET /v1/ledger/checkpoint): "
                "prove today's log extends it");
  v->add_option("--verifier-key", verify.verifier_key,
                "the key --since must be signed by (NAME+ID+KEY, or @FILE; default: the "
                "ledger's signing key)");
  v->add_option("--signing-key-file", verify.signing_key_file,
                "the ledger's signing key (default: filingd-signing.key beside the data "
                "directory)");
  v->add_flag("--skip-projections", verify.skip_projections,
              "check the log and indexes only, not the projections");
  memory_option(v, verify.memory_mib);
  scratch_option(v, verify.scratch_dir);
  v->add_flag("--json", verify.json, "JSON report");

  std::string rebuild_dir;
  std::size_t rebuild_mib = kDefaultFoldBudget >> 20;
  RebuildOptions rebuild;
  bool rebuild_json = false;
  auto* b = app.add_subcommand("rebuild-projections",
                               "re-derive all projections from the log (daemon stopped)");
  data_dir_option(b, rebuild_dir);
  memory_option(b, rebuild_mib);
  scratch_option(b, rebuild.scratch_dir);
  b->add_flag("--json", rebuild_json, "JSON output");

  ExportArgs exported;
  auto* x = app.add_subcommand(
      "export", "every event (or, with --per-filing, every filing's status), as JSON lines or CSV");
  data_dir_option(x, exported.data_dir);
  key_file_option(x, exported.key_file);
  x->add_option("--format", exported.format, "jsonl or csv")
      ->required()
      ->check(CLI::IsMember({"jsonl", "csv"}));
  x->add_option("--output", exported.output, "file to write (default: standard output)");
  x->add_flag("--per-filing", exported.per_filing,
              "one row per filing, its status flattened (CSV with a BOM, for Excel)");
  x->add_option("--config", exported.config,
                "per filing: the daemon's TOML, for its working-day calendar (default: weekends "
                "only)")
      ->check(CLI::ExistingFile);

  RestoreOptions restore;
  std::string restore_key;
  auto* k = app.add_subcommand("restore", "rebuild a ledger from the Kafka topics");
  k->add_option("--from-kafka", restore.brokers, "bootstrap brokers host:port,...")->required();
  k->add_option("--topic", restore.topic, "the event topic (default filing.events)");
  k->add_option("--keys-topic", restore.keys_topic, "the data keys' topic (default filing.keys)");
  k->add_option("--key-file", restore_key,
                "the master key the data keys must unwrap under (checked and recorded; without "
                "it they are restored unchecked)");
  k->add_option("--data-dir", restore.data_dir, "the NEW ledger directory (must not exist)")
      ->required();

  TlogArgs checkpoint, prove;
  const auto [c, p] = add_tlog_commands(app, checkpoint, prove);
  ImportArgs imported;
  auto* i = add_import_command(app, imported);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kOk : kUsage;
  }

  if (h->parsed()) return run_history(history);
  if (r->parsed()) return run_replay(replay);
  if (v->parsed()) return run_verify(verify);
  if (b->parsed()) {
    rebuild.memory_budget = rebuild_mib << 20;
    return run_rebuild(rebuild_dir, rebuild, rebuild_json);
  }
  if (x->parsed()) return run_export(exported);
  if (c->parsed()) return run_checkpoint(checkpoint);
  if (p->parsed()) return run_prove(prove);
  if (i->parsed()) return run_import(imported);
  if (k->parsed()) {
    if (!restore_key.empty()) {
      auto keyring = load_keyring(restore_key);
      if (!keyring) return fail(keyring.error());
      restore.keyring = std::move(*keyring);
    }
    auto stats = restore_from_kafka(restore);
    if (!stats)
      return fail(stats.error().message, stats.error().code == ErrorCode::conflict ? 1 : 2);
    std::printf(
        "restored %llu events (%llu messages, %llu duplicates) into %s\nhead seq %llu hash %s\n",
        static_cast<unsigned long long>(stats->events),
        static_cast<unsigned long long>(stats->messages),
        static_cast<unsigned long long>(stats->duplicates), restore.data_dir.c_str(),
        static_cast<unsigned long long>(stats->head.seq.value), to_hex(stats->head.hash).c_str());
    std::printf("%llu data keys, %llu subjects erased\n",
                static_cast<unsigned long long>(stats->keys),
                static_cast<unsigned long long>(stats->erased_keys));
    return kOk;
  }
  return kUsage;
}

}  // namespace
}  // namespace filingd

int main(int argc, char** argv) {
  // Standard output is the command's result (an export, --json): log lines go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("filingctl"));
  spdlog::set_level(spdlog::level::warn);
  // What filingctl writes holds personal data (a rebuild's tables, verify's scratch store, an
  // export, a restore): readable by its owner only (SPEC §5.2), whatever the shell's umask.
  ::umask(077);
  try {
    return filingd::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "filingctl: %s\n", e.what());
    return 2;
  }
}
