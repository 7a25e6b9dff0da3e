// Black-box checks of the built `filingctl` binary (FILINGCTL_PATH) on a temp ledger: exit
// codes and what it prints.
#include <gtest/gtest.h>

#include <linux/magic.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include <rocksdb/db.h>
#include <boost/json/parse.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "events/encoding.hpp"
#include "events/json.hpp"
#include "events/json_writer.hpp"
#include "ledger/format/column_families.hpp"
#include "ledger/store.hpp"
#include "tests/audit_util.hpp"
#include "tests/samples/samples.hpp"

namespace filingd {
namespace {

struct CtlRun {
  int code = -1;
  std::string out;  // stdout and stderr
};

// Output: stdout and stderr, or with `json` stdout only.
CtlRun filingctl(const std::string& args, bool json = false) {
  const std::string cmd =
      std::string(FILINGCTL_PATH) + " " + args + (json ? " 2>/dev/null" : " 2>&1");
  CtlRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class Filingctl : public testing::Test {
 protected:
  void SetUp() override { head_ = test::make_audit_ledger(dir_, 10); }
  std::string data_dir() const { return "--data-dir '" + dir_.str() + "'"; }

  test::TempDir dir_;
  LedgerHead head_;
};

TEST_F(Filingctl, VerifyPassesThenNamesTheTamperedSeq) {
  CtlRun ok = filingctl("verify " + data_dir());
  EXPECT_EQ(ok.code, 0) << ok.out;
  EXPECT_NE(
      ok.out.find("OK head seq " + std::to_string(head_.seq.value) + " hash " + to_hex(head_.hash)),
      std::string::npos)
      << ok.out;
  CtlRun receipt = filingctl("verify " + data_dir() + " --expect-head " +
                             std::to_string(head_.seq.value) + ":" + to_hex(head_.hash));
  EXPECT_EQ(receipt.code, 0) << receipt.out;

  Seq target;
  {
    auto store = test::open_raw(dir_);
    auto seq = test::first_event_of(*store, EventType::initial_review_rejected);
    ASSERT_TRUE(seq);
    target = *seq;
    std::string record = test::raw_get(*store, Cf::log, keys::seq(target));
    const auto at = record.find(test::kRejectReason);
    ASSERT_NE(at, std::string::npos);
    record[at + 2] ^= 0x01;
    test::raw_put(*store, Cf::log, keys::seq(target), record);
  }
  CtlRun bad = filingctl("verify " + data_dir());
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("FAILED at seq " + std::to_string(target.value)), std::string::npos)
      << bad.out;
  CtlRun bad_json = filingctl("verify --json " + data_dir(), true);
  EXPECT_EQ(bad_json.code, 1);
  const auto report = boost::json::parse(bad_json.out);
  EXPECT_EQ(report.at("ok").as_bool(), false);
  EXPECT_EQ(report.at("first_bad_seq").to_number<std::uint64_t>(), target.value);
}

TEST_F(Filingctl, HistoryShowsTheChineseReason) {
  CtlRun h = filingctl("history F0 " + data_dir());
  EXPECT_EQ(h.code, 0) << h.out;
  EXPECT_NE(h.out.find(test::kRejectReason), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("initial_review_rejected"), std::string::npos);
  CtlRun j = filingctl("history F0 --json " + data_dir(), true);
  EXPECT_EQ(j.code, 0);
  const auto doc = boost::json::parse(j.out);
  EXPECT_EQ(doc.at("items").as_array().size(), 3u);
  EXPECT_EQ(doc.at("items").at(1).at("data").at("reason").as_string(), test::kRejectReason);
  // As of the rejection: returned, with its reason.
  const std::string when = std::string(doc.at("items").at(1).at("occurred_at").as_string().c_str());
  CtlRun as_of = filingctl("history F0 --json --as-of " + when + " " + data_dir(), true);
  EXPECT_EQ(as_of.code, 0) << as_of.out;
  const auto status = boost::json::parse(as_of.out);
  EXPECT_EQ(status.at("state").as_string(), "returned");
  EXPECT_EQ(status.at("returned").at("reason").as_string(), test::kRejectReason);
  CtlRun human = filingctl("history F0 --as-of " + when + " " + data_dir());
  EXPECT_EQ(human.code, 0);
  EXPECT_NE(human.out.find("returned"), std::string::npos);
  EXPECT_NE(human.out.find(test::kRejectReason), std::string::npos);
}

TEST_F(Filingctl, ExitCodes) {
  EXPECT_EQ(filingctl("history F-nope " + data_dir()).code, 1);
  EXPECT_EQ(filingctl("history F0 --as-of 2000-01-01T00:00:00Z " + data_dir()).code, 1);
  EXPECT_EQ(filingctl("history F0 --as-of yesterday " + data_dir()).code, 2);
  EXPECT_EQ(filingctl("verify").code, 2);  // --data-dir is required
  EXPECT_EQ(filingctl("frobnicate " + data_dir()).code, 2);
  EXPECT_EQ(filingctl("verify --data-dir /nonexistent/filingd").code, 2);
  EXPECT_EQ(filingctl("verify --expect-head 3:zz " + data_dir()).code, 2);
  EXPECT_EQ(filingctl("replay --until 2026-01-05T00:00:00Z --until-seq 3 " + data_dir()).code, 2);
  EXPECT_EQ(filingctl("--help").code, 0);
}

TEST_F(Filingctl, ReplayExportAndRebuild) {
  CtlRun r = filingctl("replay --json --until-seq 3 " + data_dir(), true);
  EXPECT_EQ(r.code, 0) << r.out;
  const auto doc = boost::json::parse(r.out);
  EXPECT_EQ(doc.at("count").to_number<int>(), 1);  // F0: submitted, rejected, resubmitted
  EXPECT_EQ(doc.at("filings").at(0).at("attempt").to_number<int>(), 2);
  CtlRun all = filingctl("replay " + data_dir());
  EXPECT_EQ(all.code, 0);
  EXPECT_NE(all.out.find("10 filings at the head"), std::string::npos) << all.out;

  const std::string csv = (dir_.path() / "events.csv").string();
  CtlRun x = filingctl("export --format csv --output '" + csv + "' " + data_dir());
  EXPECT_EQ(x.code, 0) << x.out;
  std::ifstream in(csv);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, head_.seq.value + 1);
  CtlRun j = filingctl("export --format jsonl " + data_dir());
  EXPECT_EQ(j.code, 0);
  EXPECT_EQ(filingctl("export --format xml " + data_dir()).code, 2);

  CtlRun b = filingctl("rebuild-projections " + data_dir());
  EXPECT_EQ(b.code, 0) << b.out;
  EXPECT_NE(b.out.find("rebuilt projections from " + std::to_string(head_.seq.value)),
            std::string::npos);
  EXPECT_EQ(filingctl("verify " + data_dir()).code, 0);
}

// A scratch directory in memory (a tmpfs /tmp) would keep what a pass spills in RAM: filingctl
// says so, on stderr, and its standard output stays the result alone. A directory on disk (the
// test's working directory, where CTest runs it) gets no warning.
TEST_F(Filingctl, ScratchInMemoryIsWarnedOnStderr) {
  const auto memory_fs = [](const std::string& dir) -> std::string {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return "";
    return fs.f_type == TMPFS_MAGIC ? "tmpfs" : fs.f_type == RAMFS_MAGIC ? "ramfs" : "";
  };
  for (const std::string& scratch :
       {std::string("/dev/shm"), std::filesystem::current_path().string()}) {
    SCOPED_TRACE(scratch);
    const std::string fs = memory_fs(scratch);
    const bool warned = !fs.empty();
    const std::string warning = warned ? "is in memory (" + fs + ")" : "is in memory";
    const std::string args = "verify --json --scratch-dir '" + scratch + "' " + data_dir();
    CtlRun json = filingctl(args, true);
    EXPECT_EQ(json.code, 0) << json.out;
    boost::system::error_code ec;
    const auto doc = boost::json::parse(json.out, ec);
    ASSERT_FALSE(ec) << "stdout is not only the JSON result: " << json.out;
    EXPECT_TRUE(doc.at("ok").as_bool());
    CtlRun both = filingctl(args);
    EXPECT_EQ(
        both.out.find("the scratch directory " + scratch + " " + warning) != std::string::npos,
        warned)
        << both.out;
    CtlRun b = filingctl("rebuild-projections --scratch-dir '" + scratch + "' " + data_dir());
    EXPECT_EQ(b.code, 0) << b.out;
    EXPECT_EQ(b.out.find(warning) != std::string::npos, warned) << b.out;
  }
}

TEST_F(Filingctl, RebuildRefusesWhileTheLedgerIsOpenButReadsWork) {
  auto ledger = Ledger::open({.data_dir = dir_.str()});
  ASSERT_TRUE(ledger);
  CtlRun b = filingctl("rebuild-projections " + data_dir());
  EXPECT_EQ(b.code, 2) << b.out;
  EXPECT_NE(b.out.find("in use"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find("LOCK"), std::string::npos) << b.out;
  EXPECT_NE(b.out.find(std::to_string(::getpid())), std::string::npos) << b.out;
  CtlRun v = filingctl("verify " + data_dir());
  EXPECT_EQ(v.code, 0) << v.out;
  CtlRun h = filingctl("history F0 " + data_dir());
  EXPECT_EQ(h.code, 0) << h.out;
}

// An import replaces a filing's index entries event after event, all in the filing's one batch:
// what it replaces never reaches RocksDB, so no list query steps over deletions it left
// (Staging::del; docs/PERFORMANCE.md).
TEST(FilingctlImport, LeavesNoDeletionsInTheProjections) {
  test::TempDir dir;
  const std::string file = (dir.path() / "history.jsonl").string();
  {
    std::ofstream out(file);
    const Timestamp t0 = *parse_rfc3339("2019-03-01T08:00:00Z");
    for (int n = 0; n < 20; ++n) {
      std::string line;
      JsonWriter w(line);
      w.begin_object().key("filing_id").string("IMP-" + std::to_string(n)).key("events");
      w.begin_array();
      int hour = 0;
      for (Payload p : {Payload(samples::submission(n)), Payload(InitialReviewApproved{}),
                        Payload(PhotoApproved{}), Payload(SubmittedToBureau{}),
                        Payload(SmsConfirmed{}), Payload(BureauRejected{"subject_info", "有误"})}) {
        w.begin_object().key("type").string(to_string(type_of(p))).key("data");
        write_json(w, p);
        w.key("occurred_at").time(Timestamp{t0.micros + (n * 24 + ++hour) * kMicrosPerHour});
        w.key("actor").string("desk-1").end_object();
      }
      w.end_array().end_object();
      out << line << '\n';
    }
  }
  const std::string data = (dir.path() / "ledger").string();
  CtlRun r = filingctl("import '" + file + "' --data-dir '" + data + "'");
  ASSERT_EQ(r.code, 0) << r.out;

  auto store = Store::open({.path = data, .create_if_missing = false});
  ASSERT_TRUE(store) << store.error().message;
  rocksdb::TablePropertiesCollection tables;
  ASSERT_TRUE(
      (*store)->db()->GetPropertiesOfAllTables((*store)->cf(Cf::projections), &tables).ok());
  std::uint64_t entries = 0, deletions = 0;
  for (const auto& [name, props] : tables) {
    entries += props->num_entries;
    deletions += props->num_deletions;
  }
  EXPECT_GT(entries, 0u);
  EXPECT_EQ(deletions, 0u) << "deletions left behind by the import";
  store->reset();
  EXPECT_EQ(filingctl("verify --data-dir '" + data + "'").code, 0);
}

}  // namespace
}  // namespace filingd
