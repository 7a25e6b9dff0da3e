// The Kafka publisher, the embedded cluster and restore-from-Kafka, on librdkafka's mock
// cluster (real Kafka protocol on loopback) with fault injection: broker outages, request
// errors, a publisher crash mid-publish, a tampered topic.
//
// Every wait is bounded and on a condition (the publisher's cursor, the topic's watermarks);
// nothing sleeps to synchronise.
#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>

#include "kafka/embedded_cluster.hpp"
#include "kafka/publisher.hpp"
#include "metrics/prometheus.hpp"
#include "config/calendar.hpp"
#include "projections/sla.hpp"
#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "replay/rebuild.hpp"
#include "kafka/restore.hpp"
#include "replay/verify.hpp"
#include "tests/kafka/kafka_client.hpp"
#include "tests/test_util.hpp"
#include "events/encoding.hpp"
#include "ledger/format/event_record.hpp"

namespace filingd {
namespace {

using namespace std::chrono_literals;
using test::action;
using test::submit;

const Timestamp kStart = *parse_rfc3339("2026-11-22T08:00:00Z");
constexpr auto kWait = 60s;  // bound on every wait for delivery
using test::Message;
using test::read_topic;
using test::write_topic;

// Checks what a consumer that de-duplicates by seq sees: every seq 1..head exactly once, and
// each filing's events in version order. Returns the number of duplicates skipped.
std::size_t expect_complete_and_ordered(const std::vector<Message>& events, Seq head) {
  std::set<std::uint64_t> seen;
  std::map<std::string, std::uint32_t> last_version;
  std::size_t duplicates = 0;
  for (const Message& m : events) {
    const Seq seq = m.seq();
    if (!seen.insert(seq.value).second) {
      ++duplicates;
      continue;
    }
    const auto v = boost::json::parse(m.value).as_object();
    const std::string filing(v.at("filing_id").as_string());
    EXPECT_EQ(filing, m.key) << "key must be the filing_id";
    const auto version = static_cast<std::uint32_t>(v.at("version").to_number<std::uint64_t>());
    EXPECT_EQ(version, last_version[filing] + 1)
        << "filing " << filing << " out of order at seq " << seq.value;
    last_version[filing] = version;
  }
  EXPECT_EQ(seen.size(), head.value) << "events lost";
  if (!seen.empty()) {
    EXPECT_EQ(*seen.begin(), 1u);
    EXPECT_EQ(*seen.rbegin(), head.value);
  }
  return duplicates;
}

// ---- fixture ---------------------------------------------------------------------------------

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto k = EmbeddedKafka::start({.brokers = 3, .topics = {kEvents, kStatus}, .partitions = 4});
    ASSERT_TRUE(k) << k.error().message;
    kafka_ = std::move(*k);
    open_ledger();
  }

  void open_ledger() {
    ledger_.reset();
    Ledger::Options o;
    o.data_dir = dir_.str();
    o.clock = &clock_;
    auto l = Ledger::open(o);
    ASSERT_TRUE(l) << l.error().message;
    ledger_ = std::move(*l);
  }

  KafkaPublisher::Options options() const {
    KafkaPublisher::Options o;
    o.brokers = kafka_->bootstraps();
    o.events_topic = kEvents;
    o.status_topic = kStatus;
    o.create_topics = false;  // the mock has no Admin API; topics exist already
    o.properties = {{"linger.ms", "2"}};
    return o;
  }

  std::unique_ptr<KafkaPublisher> publisher(KafkaPublisher::Options o) {
    auto p = KafkaPublisher::start(*ledger_, std::move(o));
    EXPECT_TRUE(p) << p.error().message;
    return p ? std::move(*p) : nullptr;
  }

  // Appends `rounds` events to each of `filings` filings, interleaved across filings (a
  // submission, then photo rejections), through the async path so they share group commits.
  // Rounds before `from_round` were appended earlier.
  void append_interleaved(int first, int filings, int rounds, int from_round = 0) {
    std::vector<std::future<Result<AppendResult>>> results;
    for (int r = from_round; r < from_round + rounds; ++r) {
      for (int f = first; f < first + filings; ++f) {
        const std::string id = "F" + std::to_string(f);
        AppendCommand c = r == 0 ? submit(id, f)
                                 : action(id, PhotoRejected{{"rev-1", PhotoMethod::photo,
                                                             "照片不清晰 " + std::to_string(r)}});
        auto promise = std::make_shared<std::promise<Result<AppendResult>>>();
        results.push_back(promise->get_future());
        ledger_->append_async(std::move(c), [promise](Result<AppendResult> res) {
          promise->set_value(std::move(res));
        });
      }
    }
    for (auto& f : results) {
      auto r = f.get();
      ASSERT_TRUE(r) << r.error().message;
    }
  }

  AppendResult ok(AppendCommand c) {
    auto r = ledger_->append(std::move(c));
    EXPECT_TRUE(r) << r.error().message << " (field " << r.error().field << ")";
    return r ? *r : AppendResult{};
  }

  static constexpr const char* kEvents = "test.events";
  static constexpr const char* kStatus = "test.status";
  test::TempDir dir_;
  ManualClock clock_{kStart};
  std::unique_ptr<EmbeddedKafka> kafka_;
  std::unique_ptr<Ledger> ledger_;
};

// ---- publishing ---------------------------------------------------------------------------

TEST_F(KafkaTest, PublishesEveryEventWithHeadersAndTheStatusAsOfIt) {
  append_interleaved(1, 20, 5);
  auto o = options();
  o.create_topics = true;  // the mock refuses CreateTopics: the publisher must carry on
  auto pub = publisher(o);
  ASSERT_TRUE(pub);
  append_interleaved(21, 10, 3);  // more while it runs: woken by the commit listener
  const Seq head = ledger_->head().seq;
  ASSERT_TRUE(pub->wait_for_cursor(head, kWait)) << pub->stats().last_error;
  EXPECT_EQ(pub->lag(), 0u);

  const auto events = read_topic(kafka_->bootstraps(), kEvents);
  EXPECT_EQ(expect_complete_and_ordered(events, head), 0u) << "no outage: no duplicates";
  ASSERT_FALSE(events.empty());
  auto stored = ledger_->events_after(Seq(0), SIZE_MAX);
  ASSERT_TRUE(stored);
  std::map<std::uint64_t, const Event*> by_seq;
  for (const Event& e : *stored) by_seq[e.seq.value] = &e;
  for (const Message& m : events) {
    const Event& e = *by_seq.at(m.seq().value);
    EXPECT_EQ(m.value, event_json(e, PersonalView::masked));
    EXPECT_EQ(m.header("event_type"), std::string(to_string(e.type())));
    EXPECT_EQ(m.header("event_id"), e.event_id);
    EXPECT_EQ(m.header("schema"), std::to_string(e.schema));
    ASSERT_TRUE(m.header("fingerprint"));
    EXPECT_EQ(m.header("fingerprint")->size(), 64u);
    // The stored bytes travel only where the JSON is not them: here, where it masks personal data.
    EXPECT_EQ(m.header("body").has_value(), sealed_of(e.data) != nullptr) << m.value;
  }

  // The compacted topic: the last status per filing is the live projection, masked (the default).
  std::map<std::string, std::string> latest;
  for (const Message& m : read_topic(kafka_->bootstraps(), kStatus)) latest[m.key] = m.value;
  EXPECT_EQ(latest.size(), 30u);
  for (const auto& [id, value] : latest) {
    auto s = ledger_->status(id);
    ASSERT_TRUE(s && *s);
    EXPECT_EQ(value, status_json(**s, PersonalView::masked)) << id;
  }

  std::string metrics;
  prometheus::Writer writer(metrics);
  pub->render_metrics(writer);
  EXPECT_NE(metrics.find("filingd_kafka_lag_events 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("filingd_kafka_delivered_events_total " + std::to_string(head.value)),
            std::string::npos)
      << metrics;
}

// SPEC §6.7: a filing.status message carries the SLA as the HTTP status does.
TEST_F(KafkaTest, StatusMessagesCarryTheSla) {
  ok(submit("F1", 1));
  WorkCalendar calendar;
  auto o = options();
  o.calendar = &calendar;
  auto pub = publisher(o);
  ASSERT_TRUE(pub);
  ASSERT_TRUE(pub->wait_for_cursor(ledger_->head().seq, kWait)) << pub->stats().last_error;
  const auto statuses = read_topic(kafka_->bootstraps(), kStatus);
  ASSERT_EQ(statuses.size(), 1u);
  auto s = ledger_->status("F1");
  ASSERT_TRUE(s && *s);
  const auto sla = sla_of(**s, calendar, clock_.now());
  ASSERT_TRUE(sla);
  EXPECT_EQ(statuses[0].value, status_json(**s, PersonalView::masked, &*sla));
  EXPECT_NE(statuses[0].value.find(R"("sla":{"step":"initial_review")"), std::string::npos)
      << statuses[0].value;
}

// A catch-up of many small batches, each read and encoded on the encode thread while the one
// before it is produced: every event once, in order, and each filing's status once, as of its
// latest event.
TEST_F(KafkaTest, ACatchUpOverManyBatchesPublishesEachStatusOnceAsOfTheLatestEvent) {
  append_interleaved(1, 200, 6);
  const Seq head = ledger_->head().seq;
  auto o = options();
  o.read_batch = 48;  // not a divisor of the 1,200 events: the last batch is short
  o.encode_threads = 2;
  auto pub = publisher(o);
  ASSERT_TRUE(pub->wait_for_cursor(head, kWait)) << pub->stats().last_error;
  EXPECT_EQ(pub->stats().produced, head.value);
  EXPECT_EQ(pub->stats().status_messages, 200u);
  EXPECT_EQ(expect_complete_and_ordered(read_topic(kafka_->bootstraps(), kEvents), head), 0u);
  std::map<std::string, std::string> latest;
  for (const Message& m : read_topic(kafka_->bootstraps(), kStatus)) {
    EXPECT_TRUE(latest.emplace(m.key, m.value).second) << m.key << " published twice";
  }
  ASSERT_EQ(latest.size(), 200u);
  for (const auto& [id, value] : latest) {
    auto s = ledger_->status(id);
    ASSERT_TRUE(s && *s);
    EXPECT_EQ(value, status_json(**s, PersonalView::masked)) << id;
  }
}

TEST_F(KafkaTest, BrokerOutagesAndRequestErrorsLoseAndReorderNothing) {
  auto o = options();
  o.persist_every = 50;
  o.max_in_flight = 64;  // the outage fills the window: the publisher stops reading
  o.read_batch = 16;
  auto pub = publisher(o);
  ASSERT_TRUE(pub);
  append_interleaved(1, 30, 4);
  ASSERT_TRUE(pub->wait_for_cursor(ledger_->head().seq, kWait));
  ASSERT_EQ(pub->stats().produced, ledger_->head().seq.value);

  // All brokers down: appends still succeed at once, and the lag grows.
  rd_kafka_mock_broker_set_down(kafka_->cluster(), -1);
  const Seq before = ledger_->head().seq;
  const auto t0 = std::chrono::steady_clock::now();
  append_interleaved(31, 30, 4);
  append_interleaved(1, 30, 2, 4);  // and more for filings already published
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s) << "appends must not wait for Kafka";
  const Seq during = ledger_->head().seq;
  EXPECT_EQ(during.value - before.value, 30u * 4 + 30u * 2);
  EXPECT_EQ(pub->cursor(), before) << "nothing can be confirmed with every broker down";
  EXPECT_EQ(pub->lag(), during.value - before.value);
  EXPECT_LE(pub->stats().produced, before.value + 64) << "at most max_in_flight in flight";

  // Back up, through a burst of retriable produce errors and dropped connections.
  rd_kafka_mock_push_request_errors(
      kafka_->cluster(), 0 /* Produce */, 8, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
      RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  rd_kafka_mock_broker_set_up(kafka_->cluster(), -1);
  append_interleaved(61, 10, 3);

  // One broker down mid-stream (its partitions stall, the others flow), then up again; then
  // partition leaders move.
  rd_kafka_mock_broker_set_down(kafka_->cluster(), 2);
  append_interleaved(71, 10, 3);
  rd_kafka_mock_broker_set_up(kafka_->cluster(), 2);
  for (int p = 0; p < 4; ++p) rd_kafka_mock_partition_set_leader(kafka_->cluster(), kEvents, p, 3);
  append_interleaved(81, 10, 3);

  const Seq head = ledger_->head().seq;
  ASSERT_TRUE(pub->wait_for_cursor(head, kWait)) << pub->stats().last_error;
  EXPECT_EQ(pub->lag(), 0u);
  EXPECT_TRUE(pub->stats().brokers_up);
  expect_complete_and_ordered(read_topic(kafka_->bootstraps(), kEvents), head);
}

TEST_F(KafkaTest, RestartMidPublishResendsAtMostTheUnconfirmedTail) {
  auto o = options();
  o.persist_every = 100;
  o.persist_interval = std::chrono::hours(1);  // persist by count only
  o.max_in_flight = 400;
  Seq persisted;
  {
    auto first = publisher(o);
    ASSERT_TRUE(first);
    rd_kafka_mock_broker_set_rtt(kafka_->cluster(), -1, 50);  // slow deliveries down
    append_interleaved(1, 100, 30);
    ASSERT_TRUE(first->wait_for_cursor(Seq(500), kWait));
    // The brokers vanish mid-publish (nothing more is confirmed), and the publisher crashes:
    // no flush, the cursor is not persisted again.
    rd_kafka_mock_broker_set_down(kafka_->cluster(), -1);
    first->stop_abruptly();
    auto p = KafkaPublisher::persisted_cursor(ledger_->store());
    ASSERT_TRUE(p);
    persisted = *p;
    EXPECT_GE(persisted.value, 400u);
    EXPECT_LT(persisted.value, ledger_->head().seq.value) << "the crash must be mid-publish";
  }
  rd_kafka_mock_broker_set_rtt(kafka_->cluster(), -1, 0);
  rd_kafka_mock_broker_set_up(kafka_->cluster(), -1);

  const Seq head = ledger_->head().seq;
  auto second = publisher(o);
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->wait_for_cursor(head, kWait)) << second->stats().last_error;
  EXPECT_EQ(second->stats().produced, head.value - persisted.value)
      << "the restart resumes right after the persisted cursor";
  second->stop();
  auto p = KafkaPublisher::persisted_cursor(ledger_->store());
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, head) << "a clean stop persists the cursor";

  const std::size_t duplicates =
      expect_complete_and_ordered(read_topic(kafka_->bootstraps(), kEvents), head);
  EXPECT_LE(duplicates, head.value - persisted.value);
}

TEST_F(KafkaTest, WithoutResumeEverythingIsPublishedAgain) {
  append_interleaved(1, 5, 2);
  {
    auto first = publisher(options());
    ASSERT_TRUE(first->wait_for_cursor(ledger_->head().seq, kWait));
  }
  // A new (embedded) cluster starts empty: publish the ledger from seq 1 into it.
  auto fresh = EmbeddedKafka::start({.topics = {kEvents, kStatus}, .partitions = 2});
  ASSERT_TRUE(fresh);
  auto o = options();
  o.brokers = (*fresh)->bootstraps();
  o.resume = false;
  auto pub = publisher(o);
  ASSERT_TRUE(pub->wait_for_cursor(ledger_->head().seq, kWait));
  EXPECT_EQ(pub->stats().produced, ledger_->head().seq.value);
  expect_complete_and_ordered(read_topic((*fresh)->bootstraps(), kEvents), ledger_->head().seq);
}

// A produce request that fails (its response delayed) while later requests for the same
// partitions could already be on the wire: librdkafka must not report the failed request's
// messages delivered on the strength of the later ones (its "implicit ack"), which the mock
// broker, accepting the sequence gap, has not stored (tests/kafka/mock_implicit_ack_loss.cpp).
TEST_F(KafkaTest, AFailedRequestBeforeLaterOnesLosesNothing) {
  auto pub = publisher(options());
  ASSERT_TRUE(pub);
  append_interleaved(1, 8, 1);
  ASSERT_TRUE(pub->wait_for_cursor(ledger_->head().seq, kWait));
  for (int round = 0; round < 4; ++round) {
    for (int broker = 1; broker <= 3; ++broker)
      rd_kafka_mock_broker_push_request_error_rtts(kafka_->cluster(), broker, 0 /* Produce */, 1,
                                                   RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 300);
    // Two waves: the second is produced while the first's (failing) requests are outstanding.
    const std::uint64_t first_wave = ledger_->head().seq.value + 8;
    append_interleaved(1, 8, 1, 2 + 2 * round);
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (pub->stats().produced < first_wave && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    ASSERT_GE(pub->stats().produced, first_wave);
    append_interleaved(1, 8, 1, 3 + 2 * round);
  }
  ASSERT_TRUE(pub->wait_for_cursor(ledger_->head().seq, kWait)) << pub->stats().last_error;
  expect_complete_and_ordered(read_topic(kafka_->bootstraps(), kEvents), ledger_->head().seq);
}

// stop() from several threads at once (a signal handler's shutdown and a destructor, say): one
// of them stops the publisher, the others return once it is stopped; nothing joins twice.
TEST_F(KafkaTest, StopFromSeveralThreadsAtOnce) {
  for (int round = 0; round < 20; ++round) {
    auto pub = publisher(options());
    ASSERT_TRUE(pub);
    std::vector<std::thread> stoppers;
    for (int i = 0; i < 4; ++i) stoppers.emplace_back([&] { pub->stop(); });
    for (auto& t : stoppers) t.join();
    pub->stop();  // and again, afterwards
  }
}

TEST_F(KafkaTest, ARefusedPropertyIsNamed) {
  auto o = options();
  o.properties = {{"no.such.property", "1"}};
  auto p = KafkaPublisher::start(*ledger_, o);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, ErrorCode::invalid);
  EXPECT_NE(p.error().message.find("no.such.property"), std::string::npos) << p.error().message;
}

TEST(KafkaOptionsTest, TheEmbeddedClusterGetsNoCompressionUnlessThePropertiesSayOtherwise) {
  using Props = std::vector<std::pair<std::string, std::string>>;
  auto o = KafkaPublisher::Options::embedded("127.0.0.1:9", {});
  EXPECT_EQ(o.brokers, "127.0.0.1:9");
  EXPECT_FALSE(o.resume);
  EXPECT_FALSE(o.create_topics);
  EXPECT_FALSE(o.fingerprint_header);
  EXPECT_EQ(o.properties, (Props{{"compression.type", "none"}}));
  // The producer applies properties in order, so the user's, coming last, win.
  o = KafkaPublisher::Options::embedded("127.0.0.1:9", {{"compression.type", "lz4"}});
  EXPECT_EQ(o.properties, (Props{{"compression.type", "none"}, {"compression.type", "lz4"}}));
}

// ---- restore ---------------------------------------------------------------------------------

class RestoreTest : public KafkaTest {
 protected:
  // Every event type, the ledger-pinned fields and a schema-2 payload.
  void append_histories() {
    // F1: the whole path to approval, with a failed SMS attempt, then a cancellation.
    AppendCommand first = submit("F1", 1);
    first.event_id = "evt-submit-F1";
    ok(first);
    ok(action("F1", InitialReviewApproved{{"rev-1", "", ""}}));
    ok(action("F1", PhotoApproved{{"rev-2", PhotoMethod::video, ""}}));
    ok(action("F1", SubmittedToBureau{}));
    ok(action("F1", SmsAttemptFailed{}));
    ok(action("F1", SmsConfirmed{}));
    ok(action("F1",
              BureauApproved{"京ICP备2026000001号", {{"site1.cn", "京ICP备2026000001号-1"}}}));
    ok(action("F1", RecordCancelled{"京ICP备2026000001号-1", "网站关闭"}));
    // F2: rejected by the provider, resubmitted, withdrawn (reason_code: schema 2).
    ok(submit("F2", 2));
    ok(action("F2", InitialReviewRejected{{"rev-1", "website_name", "网站名称不符合要求"}}));
    ok(submit("F2", 2));
    ok(action("F2", PhotoRejected{{"rev-2", PhotoMethod::photo, "背景不是白色"}}));
    FilingWithdrawn w;
    w.reason = "不再需要";
    w.reason_code = "applicant_request";
    ok(action("F2", w));
    // F3: SMS expiry, then abandoned 45 days after being returned.
    ok(submit("F3", 3));
    ok(action("F3", InitialReviewApproved{}));
    ok(action("F3", PhotoApproved{}));
    ok(action("F3", SubmittedToBureau{}));
    clock_.advance(25 * kMicrosPerHour);
    ok(action("F3", SmsExpired{}));
    clock_.advance(46 * kMicrosPerDay);
    ok(action("F3", FilingAbandoned{}));
    // F4: rejected by the bureau.
    ok(submit("F4", 4));
    ok(action("F4", InitialReviewApproved{}));
    ok(action("F4", PhotoApproved{}));
    ok(action("F4", SubmittedToBureau{}));
    ok(action("F4", SmsConfirmed{}));
    ok(action("F4", BureauRejected{"subject_info", "主办单位信息有误"}));
    append_interleaved(10, 20, 3);
  }

  // Publishes the whole ledger and returns the events topic.
  // In clear (these ledgers keep personal data in clear): each event's JSON is its stored form,
  // so a restore re-encodes it. PersonalDataOnKafka covers the other modes.
  std::vector<Message> publish_all() {
    auto o = options();
    o.personal_data = PersonalView::clear;
    auto pub = publisher(o);
    EXPECT_TRUE(pub->wait_for_cursor(ledger_->head().seq, kWait));
    pub->stop();
    return read_topic(kafka_->bootstraps(), kEvents);
  }

  Result<RestoreStats> restore_from(const std::string& topic, const std::string& into) {
    RestoreOptions o;
    o.brokers = kafka_->bootstraps();
    o.topic = topic;
    o.data_dir = into;
    o.stall_timeout = 20s;
    return restore_from_kafka(o);
  }

  // Copies the events topic into `topic`, passing each message through `edit` (which may
  // drop it by returning false).
  void copy_events(const std::vector<Message>& events, const std::string& topic,
                   const std::function<bool(Message&)>& edit) {
    ASSERT_TRUE(kafka_->create_topic(topic, 3));
    std::vector<Message> out;
    for (Message m : events)
      if (edit(m)) out.push_back(std::move(m));
    write_topic(kafka_->bootstraps(), topic, out);
  }

  static void set_actor(Message& m, const std::string& actor) {
    auto v = boost::json::parse(m.value).as_object();
    v["actor"] = actor;
    m.value = boost::json::serialize(v);
  }

  test::TempDir restored_root_;
};

TEST_F(RestoreTest, RoundTripReproducesTheLedgerAndItsProjections) {
  append_histories();
  const auto events = publish_all();
  // Publish the tail twice: a restore de-duplicates by seq.
  copy_events(events, "dup.events", [](Message&) { return true; });
  write_topic(kafka_->bootstraps(), "dup.events",
              std::vector<Message>(events.begin(), events.begin() + 10));

  const std::string into = restored_root_.str() + "/ledger";
  auto stats = restore_from("dup.events", into);
  ASSERT_TRUE(stats) << stats.error().message;
  const LedgerHead head = ledger_->head();
  EXPECT_EQ(stats->head.seq, head.seq);
  EXPECT_EQ(stats->head.hash, head.hash);
  EXPECT_EQ(stats->duplicates, 10u);
  EXPECT_EQ(stats->without_fingerprint, 0u);
  // Every event is at its type's current schema, so its JSON re-encodes to the stored bytes and
  // the publisher sends no body header.
  EXPECT_EQ(stats->reencoded, stats->messages);

  auto original_digest = projections_digest(ledger_->store());
  ASSERT_TRUE(original_digest);
  {
    auto store = Store::open({.path = into, .create_if_missing = false});
    ASSERT_TRUE(store) << store.error().message;
    auto restored_digest = projections_digest(**store);
    ASSERT_TRUE(restored_digest);
    EXPECT_EQ(*restored_digest, *original_digest);
    // filingctl verify's checks: chain, streams, idempotency entries (with the state each
    // event led to), projections == a fresh fold, and the original's head.
    VerifyOptions vo;
    vo.expect_head = ExpectedHead{head.seq, head.hash};
    auto report = verify_ledger(**store, vo);
    ASSERT_TRUE(report) << report.error().message;
    for (const auto& p : report->problems) ADD_FAILURE() << "seq " << p.seq.value << ": " << p.what;
    EXPECT_EQ(report->idempotency_entries, head.seq.value);
  }

  // The restored directory is a ledger: the same log, and idempotent retries behave as on the
  // original (the fingerprint travelled in the header).
  const auto original = ledger_->events_after(Seq(0), SIZE_MAX);
  ASSERT_TRUE(original);
  Ledger::Options lo;
  lo.data_dir = into;
  lo.clock = &clock_;
  auto restored = Ledger::open(lo);
  ASSERT_TRUE(restored) << restored.error().message;
  const auto copy = (*restored)->events_after(Seq(0), SIZE_MAX);
  ASSERT_TRUE(copy);
  ASSERT_EQ(copy->size(), original->size());
  for (std::size_t i = 0; i < copy->size(); ++i)
    EXPECT_EQ(event_json((*copy)[i]), event_json((*original)[i]));
  AppendCommand retry = submit("F1", 1);
  retry.event_id = "evt-submit-F1";
  auto again = (*restored)->append(retry);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, Seq(1));
  AppendCommand reused = submit("F9", 9);
  reused.event_id = "evt-submit-F1";
  auto conflict = (*restored)->append(reused);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::conflict);
  // And it appends on from the restored head.
  auto next = (*restored)->append(action("F4", FilingWithdrawn{"不再需要", ""}));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->seq, head.seq.next());
}

TEST_F(RestoreTest, WithoutBodyHeadersTheEventsAreReEncoded) {
  append_histories();
  const auto events = publish_all();
  copy_events(events, "bare.events", [](Message& m) {
    std::erase_if(m.headers,
                  [](const auto& h) { return h.first == "body" || h.first == "fingerprint"; });
    return true;
  });
  const std::string into = restored_root_.str() + "/ledger";
  auto stats = restore_from("bare.events", into);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->head.hash, ledger_->head().hash);
  EXPECT_EQ(stats->reencoded, stats->events);
  EXPECT_EQ(stats->without_fingerprint, stats->events);

  // Without the original fingerprint, even a same-content retry is refused, never re-applied.
  Ledger::Options lo;
  lo.data_dir = into;
  lo.clock = &clock_;
  auto restored = Ledger::open(lo);
  ASSERT_TRUE(restored) << restored.error().message;
  AppendCommand retry = submit("F1", 1);
  retry.event_id = "evt-submit-F1";
  auto again = (*restored)->append(retry);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
  EXPECT_EQ((*restored)->head().seq, ledger_->head().seq);
}

TEST_F(RestoreTest, ATamperedEventIsRefusedNamingItsSeq) {
  append_histories();
  const auto events = publish_all();
  const std::string into = restored_root_.str() + "/ledger";

  // The JSON altered: its re-encoding no longer hashes to its hash.
  copy_events(events, "t1.events", [](Message& m) {
    if (m.seq() == Seq(7)) set_actor(m, "mallory");
    return true;
  });
  auto r = restore_from("t1.events", into);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::conflict);
  EXPECT_NE(r.error().message.find("seq 7:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("hash"), std::string::npos) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(into)) << "a refused restore leaves no ledger behind";

  // A forged event with a self-consistent hash: the next link breaks.
  copy_events(events, "t3.events", [](Message& m) {
    if (m.seq() == Seq(5)) {
      auto e = event_from_json(boost::json::parse(m.value));
      EXPECT_TRUE(e);
      e->actor = "mallory";
      e->hash = chain_hash(encode_body(*e), e->prev_hash);
      m.value = event_json(*e);
      std::erase_if(m.headers, [](const auto& h) { return h.first == "body"; });
    }
    return true;
  });
  r = restore_from("t3.events", into);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("seq 6:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("broken chain"), std::string::npos) << r.error().message;

  // A missing event: a gap.
  copy_events(events, "t4.events", [](Message& m) { return m.seq() != Seq(9); });
  r = restore_from("t4.events", into);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("seq 9:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("missing"), std::string::npos) << r.error().message;
}

// An event stored with an older schema than its type's current one cannot be re-encoded from
// its JSON (that would write the current schema), so the publisher sends its stored bytes in
// the `body` header, and a restore hashes those.
TEST_F(RestoreTest, AnEventStoredWithAnOlderSchemaTravelsWithItsStoredBytes) {
  // A ledger whose seq 2 is the schema 1 filing_withdrawn of F2026-000123, made the only way
  // such a ledger can be made now: restored from a topic that carries it.
  ok(submit("F2026-000123", 1));
  const Message first = publish_all().at(0);
  const std::string record = test::v1_withdrawn_record();
  auto parts = split_record(record);
  ASSERT_TRUE(parts);
  std::string body(parts->body);
  body[2] = 2;  // seq 7 -> 2 (after the archive's endianness byte and the body format byte)
  auto v1 = decode_body(body);
  ASSERT_TRUE(v1) << v1.error().message;
  v1->prev_hash = ledger_->head().hash;
  v1->hash = chain_hash(body, v1->prev_hash);
  ASSERT_NE(encode_body(*v1), body) << "re-encoding writes the current schema";
  Message second;
  second.key = v1->filing_id;
  second.value = event_json(*v1);
  second.headers = {{"seq", "2"}, {"body", base64(body)}};
  ASSERT_TRUE(kafka_->create_topic("v1.events", 2));
  write_topic(kafka_->bootstraps(), "v1.events", {first, second});
  const std::string v1_ledger = restored_root_.str() + "/v1";
  auto made = restore_from("v1.events", v1_ledger);
  ASSERT_TRUE(made) << made.error().message;

  // Its publisher sends the stored bytes with seq 2 only.
  ledger_.reset();
  Ledger::Options lo;
  lo.data_dir = v1_ledger;
  lo.clock = &clock_;
  auto opened = Ledger::open(lo);
  ASSERT_TRUE(opened) << opened.error().message;
  ledger_ = std::move(*opened);
  ASSERT_TRUE(kafka_->create_topic("v1.republished", 2));
  ASSERT_TRUE(kafka_->create_topic("v1.status", 2));
  KafkaPublisher::Options o = options();
  o.personal_data = PersonalView::clear;
  o.events_topic = "v1.republished";
  o.status_topic = "v1.status";
  {
    auto pub = publisher(o);
    ASSERT_TRUE(pub->wait_for_cursor(Seq(2), kWait));
  }
  auto republished = read_topic(kafka_->bootstraps(), "v1.republished");
  ASSERT_EQ(republished.size(), 2u);
  std::sort(republished.begin(), republished.end(),
            [](const Message& a, const Message& b) { return a.seq() < b.seq(); });
  EXPECT_FALSE(republished[0].header("body"));
  EXPECT_EQ(republished[1].header("body"), base64(body));
  EXPECT_EQ(republished[1].header("schema"), "1");

  // Restored from there: the same chain, seq 2 hashed over its stored bytes.
  auto again = restore_from("v1.republished", restored_root_.str() + "/again");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->head.hash, ledger_->head().hash);
  EXPECT_EQ(again->reencoded, 1u);

  // Without those bytes it cannot be restored; with JSON that disagrees with them, neither.
  copy_events(republished, "v1.bare", [](Message& m) {
    std::erase_if(m.headers, [](const auto& h) { return h.first == "body"; });
    return true;
  });
  auto bare = restore_from("v1.bare", restored_root_.str() + "/bare");
  ASSERT_FALSE(bare);
  EXPECT_NE(bare.error().message.find("seq 2:"), std::string::npos) << bare.error().message;
  copy_events(republished, "v1.altered", [](Message& m) {
    if (m.seq() == Seq(2)) set_actor(m, "mallory");
    return true;
  });
  auto altered = restore_from("v1.altered", restored_root_.str() + "/altered");
  ASSERT_FALSE(altered);
  EXPECT_NE(altered.error().message.find("does not match its stored body"), std::string::npos)
      << altered.error().message;
}

TEST_F(RestoreTest, RefusesANonEmptyDirectoryAndAnEmptyOrUnknownTopic) {
  auto r = restore_from("no.such.topic", restored_root_.str() + "/ledger");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found) << r.error().message;
  r = restore_from(kEvents, restored_root_.str() + "/ledger");  // exists, but empty
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found) << r.error().message;
  r = restore_from(kEvents, dir_.str());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid) << r.error().message;
}

}  // namespace
}  // namespace filingd
