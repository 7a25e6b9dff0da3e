// Personal data on Kafka (SPEC §5.5): each kafka.personal_data mode shows it as it says and never
// in clear otherwise; the wrapped data keys travel on the keys topic, an erasure as a tombstone;
// a restore rebuilds the ledger byte for byte in every mode, and reads personal data only with
// the master key.
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <chrono>
#include <filesystem>
#include <map>

#include "events/encoding.hpp"
#include "events/mask.hpp"
#include "events/personal.hpp"
#include "kafka/embedded_cluster.hpp"
#include "kafka/publisher.hpp"
#include "kafka/restore.hpp"
#include "ledger/format/keys.hpp"
#include "ledger/personal_data.hpp"
#include "privacy/wrap.hpp"
#include "replay/history.hpp"
#include "replay/verify.hpp"
#include "tests/kafka/kafka_client.hpp"
#include "tests/test_util.hpp"

namespace filingd {
namespace {

using namespace std::chrono_literals;
using test::action;
using test::individual;
using test::Message;
using test::person;
using test::read_topic;

const Timestamp kStart = *parse_rfc3339("2026-11-22T08:00:00Z");

struct Mode {
  const char* name;
  PersonalView view;
};
constexpr Mode kModes[] = {
    {"masked", PersonalView::masked}, {"omitted", PersonalView::omitted}, {"clear", PersonalView::clear}};

class PersonalDataOnKafka : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> topics;
    for (const Mode& m : kModes)
      for (const char* kind : {"events", "status", "keys"})
        topics.push_back(std::string(m.name) + "." + kind);
    auto k = EmbeddedKafka::start({.topics = topics, .partitions = 3});
    ASSERT_TRUE(k) << k.error().message;
    kafka_ = std::move(*k);
    Ledger::Options o;
    o.data_dir = dir_.str() + "/ledger";
    o.clock = &clock_;
    o.keyring = keyring_;
    auto l = Ledger::open(o);
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);

    for (const Mode& m : kModes) {
      KafkaPublisher::Options po;
      po.brokers = kafka_->bootstraps();
      po.events_topic = std::string(m.name) + ".events";
      po.status_topic = std::string(m.name) + ".status";
      po.keys_topic = std::string(m.name) + ".keys";
      po.create_topics = false;
      po.resume = false;
      po.personal_data = m.view;
      auto pub = KafkaPublisher::start(*ledger_, po);
      ASSERT_TRUE(pub) << pub.error().message;
      publishers_.push_back(std::move(*pub));
    }
    // Subject 1 files and withdraws; subject 2's filing is open and confirmed its SMS. Once
    // that is published, subject 1 is erased.
    ok(individual("F1", 1));
    ok(action("F1", FilingWithdrawn{"不再需要", ""}));
    ok(individual("F2", 2));
    ok(action("F2", InitialReviewApproved{}));
    ok(action("F2", PhotoApproved{}));
    ok(action("F2", SubmittedToBureau{}));
    ok(action("F2", SmsConfirmed{}));
    published();
    const std::string ref = keyring_->subject_ref("resident_id", person(1).id_number);
    AppendCommand erase;
    erase.filing_id = keys::subject_stream(ref);
    erase.data = SubjectErased{ref, "申请人要求删除"};
    erase.actor = "dpo";
    erase.principal = "dpo";
    ok(erase);
    published();
  }

  void published() {
    for (const auto& pub : publishers_)
      ASSERT_TRUE(pub->wait_for_cursor(ledger_->head().seq, 60s)) << pub->stats().last_error;
  }

  void ok(AppendCommand c) {
    auto r = ledger_->append(std::move(c));
    ASSERT_TRUE(r) << r.error().message;
  }

  std::vector<Message> topic(const Mode& m, const char* kind) {
    return read_topic(kafka_->bootstraps(), std::string(m.name) + "." + kind);
  }

  // The messages' text (values, headers, base64 bodies decoded) that contains any clear value.
  static std::vector<std::string> clear_values_in(const std::vector<Message>& messages) {
    std::vector<std::string> found;
    for (const Message& msg : messages) {
      std::string text = msg.key + msg.value;
      for (const auto& [name, value] : msg.headers) {
        text += value;
        if (name == "body") text += unbase64(value).value_or("");
      }
      for (int n : {1, 2}) {
        const auto p = person(n);
        for (const std::string& v : {p.id_number, p.name, p.address, p.mobile})
          if (text.find(v) != std::string::npos) found.push_back(msg.value);
      }
    }
    return found;
  }

  Result<RestoreStats> restore(const Mode& m, const std::string& into,
                               std::shared_ptr<Keyring> keyring) {
    RestoreOptions o;
    o.brokers = kafka_->bootstraps();
    o.topic = std::string(m.name) + ".events";
    o.keys_topic = std::string(m.name) + ".keys";
    o.data_dir = into;
    o.keyring = std::move(keyring);
    o.stall_timeout = 20s;
    return restore_from_kafka(o);
  }

  test::TempDir dir_;
  ManualClock clock_{kStart};
  privacy::Key master_ = *privacy::Key::random();
  std::shared_ptr<Keyring> keyring_ = test::keyring_of(master_);
  std::unique_ptr<EmbeddedKafka> kafka_;
  std::unique_ptr<Ledger> ledger_;
  std::vector<std::unique_ptr<KafkaPublisher>> publishers_;  // stopped before the ledger closes

  void TearDown() override { publishers_.clear(); }
};

std::string text(const boost::json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string("<absent>");
}

// The responsible person of the submission of `filing` on the events topic, as JSON.
boost::json::object responsible(const std::vector<Message>& events, const std::string& filing) {
  for (const Message& m : events) {
    auto v = boost::json::parse(m.value).as_object();
    if (m.key == filing && text(v, "type") == "filing_submitted")
      return v.at("data").at("websites").at(0).at("responsible").as_object();
  }
  ADD_FAILURE() << "no submission of " << filing;
  return {};
}

TEST_F(PersonalDataOnKafka, EachModeShowsPersonalDataAsItSaysAndOnlyClearInClear) {
  const auto p2 = person(2);
  for (const Mode& m : kModes) {
    SCOPED_TRACE(m.name);
    const auto events = topic(m, "events");
    const auto statuses = topic(m, "status");
    ASSERT_EQ(events.size(), ledger_->head().seq.value);
    const auto r1 = responsible(events, "F1");
    const auto r2 = responsible(events, "F2");
    switch (m.view) {
      case PersonalView::masked:
        EXPECT_EQ(text(r2, "id_number"), mask_tail(p2.id_number));
        EXPECT_EQ(text(r2, "mobile"), mask_tail(p2.mobile));
        EXPECT_EQ(text(r1, "id_number"), mask_tail(person(1).id_number))
            << "published before the erasure";
        break;
      case PersonalView::omitted:
        EXPECT_FALSE(r2.contains("id_number"));
        EXPECT_FALSE(r2.contains("name"));
        EXPECT_EQ(text(r2, "id_type"), "resident_id") << "not personal";
        break;
      case PersonalView::clear:
        EXPECT_EQ(text(r2, "id_number"), p2.id_number);
        EXPECT_EQ(text(r2, "name"), p2.name);
        EXPECT_EQ(text(r1, "name"), person(1).name);
        break;
    }
    if (m.view != PersonalView::clear) {
      EXPECT_EQ(clear_values_in(events), std::vector<std::string>{});
      EXPECT_EQ(clear_values_in(statuses), std::vector<std::string>{});
    } else {
      EXPECT_FALSE(clear_values_in(events).empty()) << "the scan is not vacuous";
    }
    EXPECT_EQ(clear_values_in(topic(m, "keys")), std::vector<std::string>{});
    // Sealed events carry their stored bytes; the others re-encode from their JSON.
    for (const Message& msg : events) {
      const bool personal = msg.value.find("\"subject_ref\"") != std::string::npos &&
                            msg.value.find("subject_erased") == std::string::npos;
      EXPECT_EQ(msg.header("body").has_value(), personal) << msg.value;
    }
  }
}

TEST_F(PersonalDataOnKafka, TheKeysTopicCarriesWrappedKeysAndTheErasuresTombstone) {
  const std::string erased = keyring_->subject_ref("resident_id", person(1).id_number);
  const std::string kept = keyring_->subject_ref("resident_id", person(2).id_number);
  std::map<std::string, std::vector<Message>> by_subject;
  for (const Message& m : topic(kModes[0], "keys")) by_subject[m.key].push_back(m);
  ASSERT_EQ(by_subject.size(), 2u);
  // Subject 1: its key when it filed, then the tombstone (a subject's messages share a
  // partition, so they are in order).
  ASSERT_EQ(by_subject[erased].size(), 2u);
  EXPECT_EQ(by_subject[erased][0].value.size(), 4 + privacy::kWrappedKeySize);
  EXPECT_TRUE(by_subject[erased][1].null_value);
  ASSERT_EQ(by_subject[kept].size(), 1u);
  EXPECT_EQ(by_subject[kept][0].value, **ledger_->store().get(Cf::keys, kept));
}

TEST_F(PersonalDataOnKafka, APublisherStartedAfterAnErasurePublishesErased) {
  for (const char* kind : {"events", "status", "keys"})
    ASSERT_TRUE(kafka_->create_topic(std::string("late.") + kind, 3));
  KafkaPublisher::Options po;
  po.brokers = kafka_->bootstraps();
  po.events_topic = "late.events";
  po.status_topic = "late.status";
  po.keys_topic = "late.keys";
  po.create_topics = false;
  po.resume = false;
  po.personal_data = PersonalView::clear;  // even in clear
  auto pub = KafkaPublisher::start(*ledger_, po);
  ASSERT_TRUE(pub);
  ASSERT_TRUE((*pub)->wait_for_cursor(ledger_->head().seq, 60s));
  const auto events = read_topic(kafka_->bootstraps(), "late.events");
  EXPECT_EQ(text(responsible(events, "F1"), "id_number"), kErased);
  EXPECT_EQ(text(responsible(events, "F2"), "id_number"), person(2).id_number);
  for (const Message& m : read_topic(kafka_->bootstraps(), "late.status")) {
    if (m.key != "F1") continue;
    const auto subject = boost::json::parse(m.value).at("subject").as_object();
    EXPECT_EQ(text(subject, "name"), kErased);
  }
  // The destroyed key is never published again: the subject has only its tombstone.
  const std::string erased = keyring_->subject_ref("resident_id", person(1).id_number);
  std::vector<Message> of_erased;
  for (const Message& m : read_topic(kafka_->bootstraps(), "late.keys"))
    if (m.key == erased) of_erased.push_back(m);
  ASSERT_EQ(of_erased.size(), 1u);
  EXPECT_TRUE(of_erased[0].null_value);
}

TEST_F(PersonalDataOnKafka, ARestoreInEveryModeIsByteForByteAndReadsOnlyWithTheKey) {
  const LedgerHead head = ledger_->head();
  const auto p2 = person(2);
  for (const Mode& m : kModes) {
    SCOPED_TRACE(m.name);
    const std::string plain = dir_.str() + "/" + m.name + "-plain";
    auto restored = restore(m, plain, nullptr);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_EQ(restored->head, head);
    EXPECT_EQ(restored->keys, 1u);
    EXPECT_EQ(restored->erased_keys, 1u);
    {
      auto store = Store::open({.path = plain, .create_if_missing = false});
      ASSERT_TRUE(store);
      auto report = verify_ledger(**store);
      ASSERT_TRUE(report);
      EXPECT_TRUE(report->ok());
      auto f1 = filing_events(**store, "F1");
      auto f2 = filing_events(**store, "F2");
      ASSERT_TRUE(f1 && f2);
      PersonalData without(**store, nullptr), with(**store, test::keyring_of(master_));
      Event a = f2->at(0), b = f2->at(0), c = f1->at(0);
      without.open(a);
      with.open(b);
      with.open(c);
      EXPECT_EQ(std::get<FilingSubmitted>(a.data).subject.id_number, kEncrypted);
      EXPECT_EQ(std::get<FilingSubmitted>(b.data).subject.id_number, p2.id_number);
      EXPECT_EQ(std::get<FilingSubmitted>(c.data).subject.id_number, kErased);
    }
    // Given the master key, it is checked and recorded: the ledger opens with it.
    const std::string keyed = dir_.str() + "/" + m.name + "-keyed";
    ASSERT_TRUE(restore(m, keyed, test::keyring_of(master_)));
    Ledger::Options lo;
    lo.data_dir = keyed;
    lo.keyring = test::keyring_of(master_);
    EXPECT_TRUE(Ledger::open(lo));
  }
  // Given another master key, it is refused and leaves nothing.
  const std::string wrong = dir_.str() + "/wrong";
  auto refused = restore(kModes[0], wrong, test::new_keyring());
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::invalid);
  EXPECT_NE(refused.error().message.find("master key"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(wrong));
}

}  // namespace
}  // namespace filingd
