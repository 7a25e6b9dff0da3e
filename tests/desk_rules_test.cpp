// SPEC §6.1's rules across filings, checked when the ledger decides a submission: the record
// number an access filing names, and a domain held by another subject.
#include <gtest/gtest.h>

#include "ledger/ledger.hpp"
#include "tests/samples/samples.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

using test::action;
using test::submit;

class DeskRules : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = Ledger::open({.data_dir = dir_.str(), .keyring = test::new_keyring()});
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);
  }

  void ok(AppendCommand c) {
    auto r = ledger_->append(std::move(c));
    ASSERT_TRUE(r) << r.error().message << " (field " << r.error().field << ")";
  }

  Error refused(AppendCommand c, ErrorCode code) {
    const Seq before = ledger_->head().seq;
    auto r = ledger_->append(std::move(c));
    EXPECT_FALSE(r);
    if (r) return {};
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_EQ(ledger_->head().seq, before) << "a refused append must write nothing";
    return r.error();
  }

  FilingStatus status(const std::string& id) {
    auto s = ledger_->status(id);
    EXPECT_TRUE(s && *s) << id;
    return s && *s ? **s : FilingStatus{};
  }

  // Filing `id` of subject n, approved with subject number 京ICP备<number>号 and website -1.
  void approved(const std::string& id, int n, const std::string& number) {
    ok(submit(id, n));
    ok(action(id, InitialReviewApproved{}));
    ok(action(id, PhotoApproved{}));
    ok(action(id, SubmittedToBureau{}));
    ok(action(id, SmsConfirmed{}));
    ok(action(id, BureauApproved{number, {{samples::domain_of(n), number + "-1"}}}));
  }

  // Subject n's filing of `type` naming `existing` (and its website -1).
  static AppendCommand naming(const std::string& id, int n, FilingType type,
                              const std::string& existing) {
    AppendCommand c = submit(id, n, type);
    auto& f = std::get<FilingSubmitted>(c.data);
    f.existing_record_number = existing;
    f.websites[0].domains = {"new" + std::to_string(n) + ".cn"};
    if (type == FilingType::new_access || type == FilingType::continued_access)
      f.websites[0].record_number = existing + "-1";
    return c;
  }

  static AppendCommand with_domain(AppendCommand c, const std::string& domain) {
    std::get<FilingSubmitted>(c.data).websites[0].domains = {domain};
    return c;
  }

  test::TempDir dir_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(DeskRules, ADomainInAnotherSubjectsOpenFilingIsRefusedAtSubmission) {
  ok(with_domain(submit("F1", 1), "shared.cn"));
  const Error e = refused(with_domain(submit("F2", 2), "shared.cn"), ErrorCode::conflict);
  EXPECT_EQ(e.field, "data.websites[0].domains[0]");
  EXPECT_NE(e.message.find("stands in open filing F1 of another subject"), std::string::npos)
      << e.message;
  // Once F1 is closed, the domain is free.
  ok(action("F1", FilingWithdrawn{"撤回"}));
  ok(with_domain(submit("F2", 2), "shared.cn"));
}

TEST_F(DeskRules, AResubmissionMovesItsDomainsInTheOpenIndex) {
  ok(with_domain(submit("F1", 1), "first.cn"));
  ok(action("F1", InitialReviewRejected{{"rev", "domain", "域名不符"}}));
  ok(with_domain(submit("F1", 1), "second.cn"));  // the returned filing resubmitted
  ok(with_domain(submit("F2", 2), "first.cn"));   // F1 no longer holds it
  refused(with_domain(submit("F3", 3), "second.cn"), ErrorCode::conflict);
}

TEST_F(DeskRules, ADomainWithAnotherSubjectsActiveRecordIsRefused) {
  approved("F1", 1, "京ICP备2026000001号");
  const std::string domain = std::get<FilingSubmitted>(submit("F1", 1).data).websites[0].domains[0];
  const Error e = refused(with_domain(submit("F2", 2), domain), ErrorCode::conflict);
  EXPECT_NE(e.message.find("has active record number 京ICP备2026000001号-1 of another subject"),
            std::string::npos)
      << e.message;
  // Its own subject may name it (a change filing keeps the website's domain).
  AppendCommand change = naming("F3", 1, FilingType::change, "京ICP备2026000001号");
  ok(with_domain(std::move(change), domain));
}

TEST_F(DeskRules, AContinuedAccessNeedsANumberTheRegistryKnows) {
  const Error e = refused(naming("A1", 5, FilingType::continued_access, "京ICP备2019000005号"),
                          ErrorCode::invalid);
  EXPECT_EQ(e.field, "data.existing_record_number");
  EXPECT_NE(e.message.find("is not in the registry"), std::string::npos) << e.message;
}

TEST_F(DeskRules, ANewAccessMayNameAnUnknownNumberAndSaysItIsUnverified) {
  ok(naming("A1", 5, FilingType::new_access, "京ICP备2019000005号"));
  EXPECT_FALSE(status("A1").record_number_verified);
  approved("F1", 1, "京ICP备2026000001号");
  ok(naming("A2", 1, FilingType::new_access, "京ICP备2026000001号"));
  EXPECT_TRUE(status("A2").record_number_verified);
}

}  // namespace
}  // namespace filingd
