// The desk benchmark's data set (bench/desk/run): a JSON-lines file for `filingctl import` of N
// filings as a filing desk holds them after two years, and the request paths that query them.
//
//   desk_dataset --filings N --out FILE --queries DIR [--seed S] [--now RFC3339] [--sample K]
//
// Each filing lives a simulated life from its submission (spread evenly over the two years
// before --now, default the current time) until --now: provider review (photo rejections,
// initial review rejections), withdrawals, submission to the bureau, SMS verification (failed
// attempts, expiries), the bureau's approval with record numbers or rejection, resubmissions
// after a return, abandonment 45 days after one, record cancellations. The events after --now
// are not written, so each filing ends in the state its life had reached then: most old ones
// approved, withdrawn or abandoned, recent ones anywhere in the workflow. A few stall in an open
// state (SLA overdue) and a few are left in sms_pending past their deadline (the daemon expires
// them when it starts). Every subject (individuals with resident IDs or permits, enterprises and
// other organisations with GB 32100 USCCs, the 31 provinces weighted roughly as the filings are,
// 8 providers) files once; 5 % of the subjects with an approved first filing file add_website
// later, and 10 % of the filings are new_access filings naming a number issued elsewhere. Names
// (Chinese), certificate numbers, mobiles and domains are distinct, so the desk's rules (one
// open filing per subject, a domain in one subject's filings) refuse none.
//
// DIR receives one file of request paths per filter of GET /v1/filings (state.paths,
// province.paths, ..., K values each for the exact filters, sampled over the whole data set),
// and meta.json: the counts of the data set (filings, events, by state, ...).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

#include "bench/desk/generator.hpp"
#include "events/time.hpp"

using namespace filingd;
using filingd::bench_desk::Generator;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::uint64_t filings = 1'000'000, seed = 20261206;
  std::size_t sample = 10'000;
  std::string out_path, queries;
  std::optional<Timestamp> now;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--filings") {
      filings = std::stoull(value);
    } else if (flag == "--out") {
      out_path = value;
    } else if (flag == "--queries") {
      queries = value;
    } else if (flag == "--seed") {
      seed = std::stoull(value);
    } else if (flag == "--sample") {
      sample = std::stoul(value);
    } else if (flag == "--now") {
      now = parse_rfc3339(value);
      if (!now) {
        std::fprintf(stderr, "desk_dataset: bad --now %s\n", value.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "desk_dataset: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (out_path.empty() || queries.empty()) {
    std::fprintf(stderr,
                 "usage: desk_dataset --filings N --out FILE --queries DIR [--seed S] "
                 "[--now RFC3339] [--sample K]\n");
    return 2;
  }
  try {
    if (!now) {
      using namespace std::chrono;
      now = Timestamp{duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()};
    }
    Generator g(filings, *now, seed, sample);
    const std::string partial = out_path + ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      if (!out) throw std::runtime_error("cannot write " + partial);
      g.run(out);
      out.close();
      if (!out) throw std::runtime_error("cannot write " + partial);
    }
    g.write_queries(queries);
    g.write_meta(fs::path(queries) / "meta.json");
    fs::rename(partial, out_path);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "desk_dataset: %s\n", e.what());
    return 1;
  }
}
