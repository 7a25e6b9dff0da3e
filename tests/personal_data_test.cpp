// Personal data in the ledger (SPEC §5.2-§5.4): sealed at rest under per-subject keys, opened
// for readers, erased with the key's destruction, and the master key checked.
#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <memory>
#include <string>

#include "events/codec.hpp"
#include "events/personal.hpp"
#include "ledger/format/event_record.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/keyring.hpp"
#include "ledger/ledger.hpp"
#include "ledger/personal_data.hpp"
#include "replay/verify.hpp"
#include "tests/samples/samples.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

using test::action;
using test::individual;
using test::person;

const Timestamp kStart = *parse_rfc3339("2026-11-22T08:00:00Z");

using test::keyring_of;
using test::new_keyring;

class PersonalDataTest : public ::testing::Test {
 protected:
  void SetUp() override { open(keyring_); }

  void open(std::shared_ptr<Keyring> keyring) {
    ledger_.reset();
    Ledger::Options o;
    o.data_dir = dir_.str();
    o.clock = &clock_;
    o.keyring = std::move(keyring);
    auto l = Ledger::open(o);
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);
  }

  AppendResult ok(AppendCommand c) {
    auto r = ledger_->append(std::move(c));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : AppendResult{};
  }

  Result<AppendResult> erase(int n) {
    const std::string ref = keyring_->subject_ref("resident_id", person(n).id_number);
    AppendCommand c;
    c.filing_id = keys::subject_stream(ref);
    c.data = SubjectErased{ref, "申请人要求删除"};
    c.actor = "dpo";
    c.principal = "dpo";
    return ledger_->append(std::move(c));
  }

  PersonalData reader(std::shared_ptr<Keyring> keyring) {
    return PersonalData(ledger_->store(), std::move(keyring));
  }

  FilingSubmitted submission(const std::string& filing_id, std::uint32_t version,
                             const PersonalData& with) {
    auto events = ledger_->stream(filing_id, Version(version), 1);
    EXPECT_TRUE(events && events->size() == 1);
    Event e = events->at(0);
    with.open(e);
    return std::get<FilingSubmitted>(e.data);
  }

  FilingStatus opened_status(const std::string& filing_id, const PersonalData& with) {
    auto s = ledger_->status(filing_id);
    EXPECT_TRUE(s && *s);
    FilingStatus status = **s;
    with.open(status);
    return status;
  }

  // Every key and value in every column family that holds any of `needles`.
  std::vector<std::string> stored_occurrences(const std::vector<std::string>& needles) {
    std::vector<std::string> found;
    Store& store = ledger_->store();
    for (std::size_t cf = 0; cf < kCfCount; ++cf) {
      std::unique_ptr<rocksdb::Iterator> it(
          store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(static_cast<Cf>(cf))));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        for (const std::string& needle : needles) {
          if (it->key().ToStringView().find(needle) != std::string_view::npos ||
              it->value().ToStringView().find(needle) != std::string_view::npos)
            found.push_back(std::string(cf_name(static_cast<Cf>(cf))) + ": " + needle);
        }
      }
    }
    return found;
  }

  test::TempDir dir_;
  ManualClock clock_{kStart};
  privacy::Key master_ = *privacy::Key::random();
  std::shared_ptr<Keyring> keyring_ = keyring_of(master_);
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(PersonalDataTest, PersonalFieldsAreStoredSealedAndOnlyThem) {
  ok(individual("F1", 1));
  ok(action("F1", InitialReviewApproved{}));
  ok(action("F1", PhotoApproved{}));
  ok(action("F1", SubmittedToBureau{}));
  ok(action("F1", SmsConfirmed{"139****0001"}));
  const auto p = person(1);
  EXPECT_EQ(stored_occurrences({p.id_number, p.name, p.address, p.mobile, "139****0001"}),
            std::vector<std::string>{});
  // Not vacuous: what is not personal is stored as it was given.
  EXPECT_FALSE(stored_occurrences({samples::domain_of(1)}).empty());

  auto events = ledger_->stream("F1");
  ASSERT_TRUE(events);
  const auto& stored = std::get<FilingSubmitted>(events->at(0).data);
  EXPECT_EQ(stored.personal.subject_ref, keyring_->subject_ref("resident_id", p.id_number));
  EXPECT_FALSE(stored.personal.box.empty());
  EXPECT_EQ(stored.subject.id_number, "") << "the clear value's place is empty";
  const auto& confirmed = std::get<SmsConfirmed>(events->at(4).data);
  EXPECT_EQ(confirmed.personal.subject_ref, stored.personal.subject_ref);
  EXPECT_TRUE(confirmed.phone.empty());
}

TEST_F(PersonalDataTest, ReadersOpenItWithTheKeyAndSeeEncryptedWithout) {
  ok(individual("F1", 1));
  const auto p = person(1);
  const FilingSubmitted with_key = submission("F1", 1, reader(keyring_));
  EXPECT_EQ(with_key.subject.id_number, p.id_number);
  EXPECT_EQ(with_key.subject.name, p.name);
  EXPECT_EQ(with_key.websites.at(0).responsible.mobile, p.mobile);
  EXPECT_EQ(opened_status("F1", reader(keyring_)).subject.address, p.address);

  const FilingSubmitted without = submission("F1", 1, reader(nullptr));
  EXPECT_EQ(without.subject.id_number, kEncrypted);
  EXPECT_EQ(without.websites.at(0).responsible.email, kEncrypted);
  // Another master key cannot open it either.
  const FilingSubmitted other = submission("F1", 1, reader(new_keyring()));
  EXPECT_EQ(other.subject.name, kEncrypted);
}

TEST_F(PersonalDataTest, ErasureIsRefusedForUnknownOpenOrRegisteredSubjects) {
  auto unknown = erase(7);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);

  ok(individual("F1", 1));
  const LedgerHead before = ledger_->head();
  auto open = erase(1);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code, ErrorCode::conflict);
  EXPECT_NE(open.error().message.find("F1"), std::string::npos) << open.error().message;
  EXPECT_EQ(open.error().message.find(person(1).id_number), std::string::npos)
      << "no personal data in error messages";
  EXPECT_EQ(ledger_->head().seq, before.seq);

  // Subject 2's filing approved: its record number is active.
  ok(individual("F2", 2));
  ok(action("F2", InitialReviewApproved{}));
  ok(action("F2", PhotoApproved{}));
  ok(action("F2", SubmittedToBureau{}));
  ok(action("F2", SmsConfirmed{}));
  ok(action("F2", BureauApproved{"京ICP备26009002号", {{samples::domain_of(2), "京ICP备26009002号-1"}}}));
  auto registered = erase(2);
  ASSERT_FALSE(registered);
  EXPECT_EQ(registered.error().code, ErrorCode::conflict);
  EXPECT_NE(registered.error().message.find("京ICP备26009002号"), std::string::npos);
}

TEST_F(PersonalDataTest, ErasureDestroysTheKeyAndEveryReadShowsErased) {
  ok(individual("F1", 1));
  ok(action("F1", FilingWithdrawn{"不再需要", ""}));
  const std::string ref = keyring_->subject_ref("resident_id", person(1).id_number);
  ASSERT_TRUE(*ledger_->store().get(Cf::keys, ref));

  auto erased = erase(1);
  ASSERT_TRUE(erased) << erased.error().message;
  EXPECT_EQ(erased->version, Version(1));
  EXPECT_FALSE(*ledger_->store().get(Cf::keys, ref)) << "the data key is gone";
  auto again = erase(1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);

  for (const auto& with : {reader(keyring_), reader(nullptr)}) {
    const FilingSubmitted f = submission("F1", 1, with);
    EXPECT_EQ(f.subject.id_number, kErased);
    EXPECT_EQ(f.websites.at(0).responsible.mobile, kErased);
    EXPECT_EQ(f.websites.at(0).domains.at(0), samples::domain_of(1)) << "the workflow remains";
    EXPECT_EQ(opened_status("F1", with).subject.name, kErased);
  }
  EXPECT_EQ(opened_status("F1", reader(keyring_)).state, FilingState::withdrawn);
  auto log = ledger_->events_after(Seq(0), SIZE_MAX);
  ASSERT_TRUE(log);
  const auto& e = std::get<SubjectErased>(log->back().data);
  EXPECT_EQ(e.subject_ref, ref);
  EXPECT_EQ(log->back().principal, "dpo");

  auto report = verify_ledger(ledger_->store());
  ASSERT_TRUE(report);
  for (const auto& problem : report->problems) ADD_FAILURE() << problem.what;
}

TEST_F(PersonalDataTest, AnErasedSubjectFilingAgainGetsANewKeyAndTheOldDataStaysErased) {
  ok(individual("F1", 1));
  ok(action("F1", FilingWithdrawn{"不再需要", ""}));
  ASSERT_TRUE(erase(1));
  ok(individual("F2", 1));
  const FilingSubmitted old_one = submission("F1", 1, reader(keyring_));
  const FilingSubmitted new_one = submission("F2", 1, reader(keyring_));
  EXPECT_EQ(old_one.subject.id_number, kErased);
  EXPECT_EQ(new_one.subject.id_number, person(1).id_number);
  EXPECT_EQ(new_one.personal.generation, 1u);
  // The same after a restart (no cached keys).
  open(keyring_);
  EXPECT_EQ(submission("F1", 1, reader(keyring_)).subject.name, kErased);
  EXPECT_EQ(submission("F2", 1, reader(keyring_)).subject.name, person(1).name);
}

// A refused submission had made its subject's data key (sealing comes before the cross-filing
// checks): the key must not stay cached, or the subject's next filing would be sealed under a key
// that is never stored, and be unreadable once the process restarts.
TEST_F(PersonalDataTest, ADataKeyMadeForARefusedSubmissionIsNotUsedAfterIt) {
  ok(individual("F1", 1));
  // Subject 2 naming subject 1's open domain: refused after its key was made.
  AppendCommand clash = individual("F2", 2);
  std::get<FilingSubmitted>(clash.data).websites[0].domains =
      std::get<FilingSubmitted>(individual("F1", 1).data).websites[0].domains;
  auto r = ledger_->append(std::move(clash));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::conflict) << r.error().message;
  ok(individual("F2", 2));
  auto fresh = keyring_of(master_);  // nothing cached
  open(fresh);
  EXPECT_EQ(submission("F2", 1, reader(fresh)).subject.name, person(2).name);
}

TEST_F(PersonalDataTest, AnotherMasterKeyIsRefusedAtOpen) {
  ok(individual("F1", 1));
  ledger_.reset();
  Ledger::Options o;
  o.data_dir = dir_.str();
  o.keyring = new_keyring();
  auto other = Ledger::open(o);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::invalid);
  EXPECT_NE(other.error().message.find("master key"), std::string::npos) << other.error().message;
  open(keyring_);  // the right key still opens it
  EXPECT_EQ(submission("F1", 1, reader(keyring_)).subject.name, person(1).name);
}

TEST_F(PersonalDataTest, DataStoredBeforeSealingStaysReadableAndKeepsItsRules) {
  open(nullptr);  // a ledger written before personal data was sealed
  ok(individual("F1", 1));
  open(keyring_);
  const FilingSubmitted legacy = submission("F1", 1, reader(keyring_));
  EXPECT_TRUE(legacy.personal.box.empty());
  EXPECT_EQ(legacy.subject.id_number, person(1).id_number);
  // The same subject under its keyed identity still has that open filing.
  auto second = ledger_->append(individual("F2", 1));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::conflict);
  EXPECT_NE(second.error().message.find("F1"), std::string::npos);
  // ... and cannot be erased: its data lies in clear in events the chain covers.
  auto erased = erase(1);
  ASSERT_FALSE(erased);
  EXPECT_EQ(erased.error().code, ErrorCode::not_found);

  ok(individual("F3", 3));
  auto report = verify_ledger(ledger_->store());
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->clear_personal, 1u) << "F1's submission, not F3's";
}

// A ledger sealed from its first event skips the search for clear identities at submission; one
// opened without a keyring even once is searched again.
TEST_F(PersonalDataTest, ALedgerOnceWrittenInClearIsSearchedForClearIdentities) {
  open(keyring_);  // empty: sealed from genesis
  ok(individual("F0", 9));
  open(nullptr);  // ... until written in clear
  ok(individual("F1", 1));
  open(keyring_);
  auto second = ledger_->append(individual("F2", 1));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::conflict);
  EXPECT_NE(second.error().message.find("F1"), std::string::npos);
}

TEST_F(PersonalDataTest, OnlyTheDaemonMayActAsSystem) {
  AppendCommand c = individual("F1", 1);
  c.actor = "system";
  auto r = ledger_->append(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid);
  EXPECT_EQ(r.error().field, "actor");
  c.principal = std::string(kSystemPrincipal);
  EXPECT_TRUE(ledger_->append(c));
}

TEST_F(PersonalDataTest, AnAlteredStoredKeyReadsEncryptedNotGarbage) {
  ok(individual("F1", 1));
  const std::string ref = keyring_->subject_ref("resident_id", person(1).id_number);
  std::string stored = **ledger_->store().get(Cf::keys, ref);
  stored.back() ^= 1;
  open(nullptr);  // no cached key
  ASSERT_TRUE(ledger_->store()
                  .db()
                  ->Put(rocksdb::WriteOptions(), ledger_->store().cf(Cf::keys), ref, stored)
                  .ok());
  // The right master key, nothing cached: the altered key fails authentication.
  EXPECT_EQ(submission("F1", 1, reader(keyring_of(master_))).subject.name, kEncrypted);
  auto truncated = keyring_of(master_)->data_key(ref, stored.substr(0, 10));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::invalid);
}

}  // namespace
}  // namespace filingd
