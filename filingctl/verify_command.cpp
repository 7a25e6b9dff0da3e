#include "filingctl/verify_command.hpp"

#include <boost/json/object.hpp>

#include <cstdio>

#include "events/encoding.hpp"
#include "filingctl/output.hpp"
#include "filingctl/tlog_commands.hpp"
#include "replay/open.hpp"
#include "replay/verify.hpp"
#include "tlog/encoding.hpp"

namespace filingd::ctl {

namespace json = boost::json;

int run_verify(const VerifyArgs& a) {
  VerifyOptions options;
  options.check_projections = !a.skip_projections;
  options.memory_budget = a.memory_mib << 20;
  options.scratch_dir = a.scratch_dir;
  if (!a.expect_head.empty()) {
    options.expect_head = parse_expected_head(a.expect_head);
    if (!options.expect_head)
      return fail("--expect-head must be SEQ:HASH (a seq and 64 hex digits)", kUsage);
  }
  if (!a.since.empty()) {
    auto saved = saved_checkpoint(a.since, a.verifier_key, a.signing_key_file, a.data_dir);
    if (!saved) return fail(saved.error().message, kFailed);
    options.since = *saved;
  }
  auto store = open_for_reading(a.data_dir);
  if (!store) return fail(store.error());
  auto report = verify_ledger(**store, options);
  if (!report) return fail(report.error());
  const VerifyReport& r = *report;
  const double rate = r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0;
  if (a.json) {
    json::object o;
    o["ok"] = r.ok();
    o["head"] = json::object{{"seq", r.head.value}, {"hash", to_hex(r.head_hash)}};
    o["events"] = r.events;
    o["filings"] = r.filings;
    o["stream_entries"] = r.stream_entries;
    o["idempotency_entries"] = r.idempotency_entries;
    o["projection_entries"] = r.projection_entries;
    o["clear_personal_events"] = r.clear_personal;
    o["tree_root"] = tlog::base64_encode(r.tree_root);
    if (options.since) o["since_tree_size"] = options.since->size;
    o["projections_digest"] =
        r.live_digest ? json::value(to_hex(*r.live_digest)) : json::value(nullptr);
    o["rebuilt_digest"] =
        r.rebuilt_digest ? json::value(to_hex(*r.rebuilt_digest)) : json::value(nullptr);
    o["first_bad_seq"] = !r.ok() && r.problems.front().seq.value != 0
                             ? json::value(r.problems.front().seq.value)
                             : json::value(nullptr);
    json::array problems;
    for (const auto& p : r.problems) {
      problems.emplace_back(
          json::object{{"seq", p.seq.value ? json::value(p.seq.value) : json::value(nullptr)},
                       {"what", p.what}});
    }
    o["problems"] = std::move(problems);
    o["seconds"] = r.seconds;
    o["events_per_second"] = rate;
    print_json(o);
  } else if (r.ok()) {
    std::printf("OK head seq %llu hash %s\n", static_cast<unsigned long long>(r.head.value),
                to_hex(r.head_hash).c_str());
    std::printf("  %llu events, %llu filings, %llu stream and %llu idempotency entries",
                static_cast<unsigned long long>(r.events),
                static_cast<unsigned long long>(r.filings),
                static_cast<unsigned long long>(r.stream_entries),
                static_cast<unsigned long long>(r.idempotency_entries));
    if (r.live_digest) {
      std::printf(", projections digest %s (= rebuild)", to_hex(*r.live_digest).c_str());
    } else {
      std::printf(", projections not compared");
    }
    std::printf("; %.2f s, %.0f events/s\n", r.seconds, rate);
    std::printf("  Merkle tree root %s", tlog::base64_encode(r.tree_root).c_str());
    if (options.since)
      std::printf("; extends the checkpoint of %lld events",
                  static_cast<long long>(options.since->size));
    std::printf("\n");
    if (r.clear_personal > 0)
      std::printf("  %llu events hold personal data in clear (stored before it was encrypted)\n",
                  static_cast<unsigned long long>(r.clear_personal));
  } else {
    const VerifyProblem& first = r.problems.front();
    if (first.seq.value != 0) {
      std::printf("FAILED at seq %llu: %s\n", static_cast<unsigned long long>(first.seq.value),
                  first.what.c_str());
    } else {
      std::printf("FAILED: %s\n", first.what.c_str());
    }
    for (std::size_t i = 1; i < r.problems.size(); ++i) {
      const auto& p = r.problems[i];
      if (p.seq.value != 0) {
        std::printf("  also at seq %llu: %s\n", static_cast<unsigned long long>(p.seq.value),
                    p.what.c_str());
      } else {
        std::printf("  also: %s\n", p.what.c_str());
      }
    }
    std::printf("  the log verified up to seq %llu (hash %s)\n",
                static_cast<unsigned long long>(r.head.value), to_hex(r.head_hash).c_str());
  }
  return r.ok() ? kOk : kFailed;
}

}  // namespace filingd::ctl
