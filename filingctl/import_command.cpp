#include "filingctl/import_command.hpp"

#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "config/config.hpp"
#include "imports/import_file.hpp"
#include "ledger/keyring.hpp"
#include "ledger/ledger.hpp"
#include "privacy/key_file.hpp"
#include "replay/open.hpp"

namespace filingd::ctl {
namespace {

constexpr int kOk = 0;
constexpr int kRefused = 1;
constexpr int kStopped = 2;

int fail(const std::string& message) {
  std::fprintf(stderr, "filingctl: %s\n", message.c_str());
  return kStopped;
}

// The master key personal data is sealed under, as the daemon finds it. Created only for a new
// ledger, as the daemon's first start would: a ledger that holds data was sealed under a key
// that must already exist.
Result<std::shared_ptr<Keyring>> import_keyring(const std::string& path,
                                                const std::string& data_dir) {
  std::error_code ec;
  const bool new_ledger = !std::filesystem::exists(std::filesystem::path(data_dir) / "CURRENT", ec);
  if (!new_ledger) {
    auto key = privacy::load_master_key(path);
    if (!key) return key.take_error();
    return Keyring::create(*key);
  }
  auto loaded = privacy::load_or_create_master_key(path);
  if (!loaded) return loaded.take_error();
  if (loaded->created)
    std::fprintf(stderr,
                 "filingctl: created the master key file %s: back it up, apart from the data "
                 "directory; without it the personal data in the ledger cannot be read\n",
                 path.c_str());
  return Keyring::create(loaded->key);
}

std::string error_text(const Error& e) {
  return e.field.empty() ? e.message : e.message + " [" + e.field + "]";
}

}  // namespace

CLI::App* add_import_command(CLI::App& app, ImportArgs& args) {
  auto* sub = app.add_subcommand(
      "import",
      "filings' histories from a JSON-lines file, one POST /v1/imports object a line, each "
      "filing all or nothing (daemon stopped); a refused line is reported and skipped");
  sub->add_option("file", args.file, "the JSON-lines file (- for standard input)")->required();
  sub->add_option("--data-dir", args.data_dir, "the ledger's data directory (created if missing)")
      ->required();
  sub->add_option("--config", args.config,
                  "the daemon's TOML: its SMS policies pin the imported deadlines, and its "
                  "master key file seals personal data (default: built-in defaults)")
      ->check(CLI::ExistingFile);
  sub->add_option("--key-file", args.key_file,
                  "the master key (default: the config's, else filingd.key beside the data "
                  "directory; created only for a new ledger)");
  sub->add_option("--progress-every", args.progress_every,
                  "seconds between progress lines on standard error (default 1)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", args.json, "a JSON summary on standard output");
  return sub;
}

int run_import(const ImportArgs& a) {
  Result<Config> loaded =
      a.config.empty() ? Result<Config>(default_config()) : load_config(a.config);
  if (!loaded) return fail(loaded.error().message);
  Config config = std::move(*loaded);
  config.data_dir = a.data_dir;
  std::ifstream file;
  std::istream* in = &std::cin;
  if (a.file != "-") {
    file.open(a.file, std::ios::binary);
    if (!file) return fail("cannot read " + a.file);
    in = &file;
  }
  // The ledger's files and the key are as private as the daemon makes them (SPEC §5.2); main()
  // set the umask for what is written from here.
  if (auto ok = make_private(a.data_dir); !ok) return fail(ok.error().message);
  auto keyring =
      import_keyring(a.key_file.empty() ? master_key_path(config) : a.key_file, a.data_dir);
  if (!keyring) return fail(keyring.error().message);
  Ledger::Options options;
  options.data_dir = a.data_dir;
  options.sms_policies = config.sms_policies;
  options.keyring = std::move(*keyring);
  auto ledger = Ledger::open(std::move(options));
  if (!ledger) return fail(explain_open_failure(a.data_dir, ledger.take_error()).message);

  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  ImportFileOptions o;
  o.progress_every = std::chrono::milliseconds(static_cast<std::int64_t>(a.progress_every * 1000));
  o.refused = [](std::uint64_t line, const Error& why) {
    std::fprintf(stderr, "filingctl: line %llu refused: %s\n",
                 static_cast<unsigned long long>(line), error_text(why).c_str());
  };
  o.progress = [&](const ImportFileReport& r) {
    std::fprintf(stderr,
                 "filingctl: line %llu: %llu filings, %llu events imported, %llu lines "
                 "refused (%.0f events/s)\n",
                 static_cast<unsigned long long>(r.lines),
                 static_cast<unsigned long long>(r.filings),
                 static_cast<unsigned long long>(r.events),
                 static_cast<unsigned long long>(r.refused), r.events / std::max(seconds(), 1e-9));
  };
  const ImportFileReport r = import_jsonl(**ledger, *in, o);
  const LedgerHead head = (*ledger)->head();
  ledger->reset();  // every acknowledged filing is durable; this flushes the memtables
  const double took = seconds();
  if (a.json) {
    boost::json::object out{{"lines", r.lines},
                            {"filings", r.filings},
                            {"events", r.events},
                            {"refused", r.refused},
                            {"head_seq", head.seq.value},
                            {"seconds", took},
                            {"events_per_second", r.events / std::max(took, 1e-9)}};
    out["failure"] = r.failure ? boost::json::value(r.failure->message) : nullptr;
    std::cout << boost::json::serialize(out) << '\n';
  } else {
    std::printf(
        "imported %llu filings (%llu events) in %.2f s, %.0f events/s; %llu lines "
        "refused; head seq %llu\n",
        static_cast<unsigned long long>(r.filings), static_cast<unsigned long long>(r.events), took,
        r.events / std::max(took, 1e-9), static_cast<unsigned long long>(r.refused),
        static_cast<unsigned long long>(head.seq.value));
  }
  if (r.failure) return fail("import stopped: " + error_text(*r.failure));
  return r.refused > 0 ? kRefused : kOk;
}

}  // namespace filingd::ctl
