// `filingctl import` of a large history file (SPEC §6.6): events/s and CPU per event of the real
// binary, as an operator runs it. Not a Google Benchmark: a one-shot measurement of a large data
// set, which is generated once (and cached) in $FILINGD_BENCH_DIR; each run imports it into a
// fresh ledger there (filingd-bench-import/), removed afterwards.
//
//   import_bench --filingctl PATH [--events 1000000]
//   import_bench --events N --generate FILE    only writes the data set
//
// The data set: N/8 filings of 8 events each, a 2019 history a desk would bring from its old
// system: submission (samples::submission, personal data sealed on import), photo rejected,
// initial review and photo approved, submitted to the bureau, one failed SMS attempt, the
// confirmation within the window, and the bureau's rejection.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "tests/samples/samples.hpp"

using namespace filingd;
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kEventsPerFiling = 8;

void write_event(JsonWriter& w, const Payload& data, Timestamp at, std::string_view actor) {
  w.begin_object();
  w.key("type").string(to_string(type_of(data)));
  w.key("data");
  write_json(w, data);
  w.key("occurred_at").string(format_rfc3339(at));
  w.key("actor").string(actor);
  w.end_object();
}

void generate(const std::string& path, std::uint64_t events) {
  const std::string partial = path + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + partial);
  const Timestamp base = *parse_rfc3339("2019-01-01T00:00:00Z");
  std::string line;
  for (std::uint64_t i = 0; i < events / kEventsPerFiling; ++i) {
    const Timestamp t0{base.micros + static_cast<std::int64_t>(i) * kMicrosPerSecond};
    auto at = [&](std::int64_t hours) { return Timestamp{t0.micros + hours * kMicrosPerHour}; };
    line.clear();
    JsonWriter w(line);
    w.begin_object().key("filing_id").string("IMP-" + std::to_string(i)).key("events");
    w.begin_array();
    write_event(w, samples::submission(i, "bench-import.cn"), at(0), "desk-1");
    write_event(w, samples::photo_rejected(), at(1), "rev-1");
    write_event(w, InitialReviewApproved{{"rev-1", "", ""}}, at(2), "rev-1");
    write_event(w, PhotoApproved{}, at(3), "rev-1");
    write_event(w, SubmittedToBureau{}, at(24), "desk-1");
    write_event(w, SmsAttemptFailed{}, at(25), "miit");
    write_event(w, SmsConfirmed{}, at(26), "miit");
    write_event(w, BureauRejected{"subject_info", "主体信息有误"}, at(24 * 10), "bureau");
    w.end_array().end_object();
    line.push_back('\n');
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + partial);
  fs::rename(partial, path);
}

// Runs argv to its end; the exit status.
int run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

double cpu_seconds(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t events = 1'000'000;
  std::string filingctl, only_generate;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--events") {
      events = std::stoull(argv[i + 1]) / kEventsPerFiling * kEventsPerFiling;
    } else if (flag == "--filingctl") {
      filingctl = argv[i + 1];
    } else if (flag == "--generate") {
      only_generate = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  try {
    if (!only_generate.empty()) {
      generate(only_generate, events);
      return 0;
    }
    if (filingctl.empty()) {
      std::fprintf(stderr, "usage: import_bench --filingctl PATH [--events N]\n");
      return 2;
    }
    const char* env = std::getenv("FILINGD_BENCH_DIR");
    const fs::path dir = env ? env : "/tmp";
    const std::string file =
        (dir / ("filingd-bench-import-" + std::to_string(events) + ".jsonl")).string();
    if (!fs::exists(file)) {
      const auto t = Steady::now();
      generate(file, events);
      std::printf("generated %s (%.0f MB) in %.1f s\n", file.c_str(),
                  static_cast<double>(fs::file_size(file)) / 1e6,
                  std::chrono::duration<double>(Steady::now() - t).count());
    }
    // The ledger and the master key filingctl creates beside it, in a directory of their own.
    const fs::path home = dir / "filingd-bench-import";
    const fs::path ledger = home / "ledger";
    fs::remove_all(home);
    fs::create_directories(home);
    rusage before{}, after{};
    getrusage(RUSAGE_CHILDREN, &before);
    const auto start = Steady::now();
    const int rc =
        run({filingctl, "import", file, "--data-dir", ledger.string(), "--progress-every", "10"});
    const double wall = std::chrono::duration<double>(Steady::now() - start).count();
    getrusage(RUSAGE_CHILDREN, &after);
    const double cpu = cpu_seconds(after) - cpu_seconds(before);
    fs::remove_all(home);
    if (rc != 0) {
      std::fprintf(stderr, "filingctl import exited with %d\n", rc);
      return 1;
    }
    std::printf("import: %llu events (%llu filings) in %.2f s = %.0f events/s, %.2f us CPU/event\n",
                static_cast<unsigned long long>(events),
                static_cast<unsigned long long>(events / kEventsPerFiling), wall,
                static_cast<double>(events) / wall, cpu * 1e6 / static_cast<double>(events));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "import_bench: %s\n", e.what());
    return 1;
  }
}
