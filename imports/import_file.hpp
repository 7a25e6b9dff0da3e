// filingctl import (SPEC §6.6): filings' histories from a JSON-lines file, one import object
// (import_json.hpp) a line, each appended whole or not at all (Ledger::import). Lines are handed
// to the ledger in file order with many in flight, so that a group commit holds many filings; a
// filing is still atomic on its own. A refused line is reported and skipped, and the import goes
// on; a failed write or read stops it (what was acknowledged before stays written).
//
// Runs on the caller's thread, which also gets every callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <optional>

#include "events/result.hpp"
#include "ledger/ledger.hpp"

namespace filingd {

struct ImportFileReport {
  std::uint64_t lines = 0;    // read; a blank line counts, and is skipped
  std::uint64_t filings = 0;  // imported
  std::uint64_t events = 0;   // imported
  std::uint64_t refused = 0;  // lines refused
  // Why the import stopped before the end of the input: io (a write or read failed),
  // unavailable (the ledger is shutting down) or internal.
  std::optional<Error> failure;
};

struct ImportFileOptions {
  // Events handed to the ledger and not yet answered, at most (one import may exceed it alone):
  // enough to fill the group commits being decided and written, few enough to bound memory.
  std::size_t max_in_flight_events = 16384;
  // Each refused line: its number (1-based) and why (Error::index names the event). Called as
  // refusals are found, which is not always in line order.
  std::function<void(std::uint64_t line, const Error& why)> refused;
  // The counts so far, about once per `progress_every` and once at the end.
  std::function<void(const ImportFileReport&)> progress;
  std::chrono::milliseconds progress_every{1000};
};

ImportFileReport import_jsonl(Ledger& ledger, std::istream& in, const ImportFileOptions& options);

}  // namespace filingd
