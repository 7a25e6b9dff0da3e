// `filingctl import` (SPEC §6.6): filings' histories from a JSON-lines file into a ledger whose
// daemon is stopped.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace filingd::ctl {

struct ImportArgs {
  std::string file;  // "-": standard input
  std::string data_dir;
  std::string config;           // the daemon's TOML: its SMS policies and master key file
  std::string key_file;         // overrides the config's master key file
  double progress_every = 1.0;  // seconds between progress lines
  bool json = false;
};

CLI::App* add_import_command(CLI::App& app, ImportArgs& args);
// Exit codes: 0 every line imported; 1 some lines refused (the others imported); 2 usage, or the
// import stopped (a failed write or read: the filings acknowledged before it stay written).
int run_import(const ImportArgs& a);

}  // namespace filingd::ctl
