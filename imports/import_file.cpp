#include "imports/import_file.hpp"

#include <boost/json/parser.hpp>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "events/json.hpp"
#include "imports/import_json.hpp"

namespace filingd {
namespace {

namespace json = boost::json;

// Errors that say nothing about the line: the import cannot go on.
bool stops_the_import(const Error& e) {
  return e.code == ErrorCode::io || e.code == ErrorCode::unavailable ||
         e.code == ErrorCode::internal;
}

// What the ledger's completion thread and the reading thread share.
struct InFlight {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t events = 0;                                // guarded by mu
  std::uint64_t filings = 0, imported_events = 0;        // guarded by mu
  std::vector<std::pair<std::uint64_t, Error>> refused;  // guarded by mu: not yet reported
  std::optional<Error> failure;                          // guarded by mu
};

Result<ImportCommand> parse_line(json::parser& parser, std::string_view line) {
  // As the daemon refuses a body with a duplicate key: two readers of it could disagree.
  if (auto key = find_duplicate_key(line))
    return make_error(ErrorCode::malformed, "the line has a duplicate key " + *key);
  boost::system::error_code ec;
  parser.reset();
  parser.write(line.data(), line.size(), ec);
  if (ec) return make_error(ErrorCode::malformed, "the line is not valid JSON: " + ec.message());
  json::value v = parser.release();
  if (!v.is_object()) return make_error(ErrorCode::malformed, "the line must be a JSON object");
  auto cmd = import_from_json(v.get_object());
  if (!cmd) return cmd.take_error();
  cmd->principal = std::string(kImportPrincipal);
  return cmd;
}

}  // namespace

ImportFileReport import_jsonl(Ledger& ledger, std::istream& in, const ImportFileOptions& options) {
  auto shared = std::make_shared<InFlight>();
  ImportFileReport report;
  auto next_progress = std::chrono::steady_clock::now() + options.progress_every;
  // Takes what the completions left (the lock held), and reports it.
  auto collect = [&](std::unique_lock<std::mutex>& lock) {
    report.filings = shared->filings;
    report.events = shared->imported_events;
    if (shared->failure && !report.failure) report.failure = shared->failure;
    auto refused = std::exchange(shared->refused, {});
    lock.unlock();
    for (auto& [line, why] : refused) {
      ++report.refused;
      if (options.refused) options.refused(line, why);
    }
    lock.lock();
  };
  json::parser parser;
  std::string line;
  while (!report.failure && std::getline(in, line)) {
    const std::uint64_t number = ++report.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto cmd = parse_line(parser, line);
    if (!cmd) {
      ++report.refused;
      if (options.refused) options.refused(number, cmd.error());
      continue;
    }
    const std::size_t n = cmd->events.size();
    {
      std::unique_lock lock(shared->mu);
      shared->cv.wait(lock, [&] {
        return shared->events == 0 || shared->events + n <= options.max_in_flight_events;
      });
      shared->events += n;
      collect(lock);
    }
    ledger.import_async(std::move(*cmd), [shared, number, n](Result<ImportResult> r) {
      {
        std::lock_guard lock(shared->mu);
        shared->events -= n;
        if (r) {
          ++shared->filings;
          shared->imported_events += n;
        } else if (stops_the_import(r.error())) {
          if (!shared->failure) shared->failure = r.error();
        } else {
          shared->refused.emplace_back(number, r.error());
        }
      }
      shared->cv.notify_all();
    });
    if (options.progress && std::chrono::steady_clock::now() >= next_progress) {
      next_progress += options.progress_every;
      options.progress(report);
    }
  }
  if (in.bad() && !report.failure)
    report.failure = make_error(
        ErrorCode::io, "cannot read the input at line " + std::to_string(report.lines + 1));
  {
    std::unique_lock lock(shared->mu);
    shared->cv.wait(lock, [&] { return shared->events == 0; });
    collect(lock);
  }
  if (options.progress) options.progress(report);
  return report;
}

}  // namespace filingd
