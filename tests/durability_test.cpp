// Durability (SPEC §2.1): an append is acknowledged only after its batch is synced, so a process
// killed with SIGKILL mid-load loses no acknowledged append, and recovery yields a gapless,
// intact hash chain whose projections equal a rebuild from the log.
//
// The parent starts a child (fork, then exec of this same test binary, so the child is a fresh
// process: by the second round the parent has opened RocksDB, whose shared background threads
// are never joined, and a forked copy of it would inherit a thread pool whose threads do not
// exist; ThreadSanitizer refuses such a child outright). The child opens a Ledger, runs 8
// appending threads and reports every acknowledged append as a fixed-size record over a pipe.
// The parent kills it once enough acknowledgements have arrived, drains the pipe, reopens the
// data directory and checks every acknowledged append is there. Two kill rounds run on the same
// directory, the second continuing from the recovered state.
#include <gtest/gtest.h>
#include <rocksdb/iterator.h>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "ledger/ledger.hpp"
#include "ledger/store.hpp"
#include "ledger/format/keys.hpp"
#include "replay/rebuild.hpp"
#include "tests/test_util.hpp"
#include "ledger/format/event_record.hpp"

namespace filingd {
namespace {

constexpr int kChildThreads = 8;
constexpr std::size_t kAcksBeforeKill = 2'000;
constexpr auto kRoundDeadline = std::chrono::seconds(60);
constexpr int kRounds = 2;
// Set in the environment of the re-executed child (see run_kill_round): "FD:ROUND:DATA_DIR".
constexpr const char* kChildEnv = "FILINGD_DURABILITY_CHILD";

// One acknowledged append, as the child reports it.
struct Ack {
  char filing_id[48];  // NUL-padded
  std::uint64_t seq;
  std::uint32_t version;
  std::uint32_t type;  // EventType
};
static_assert(std::is_trivially_copyable_v<Ack>);
static_assert(sizeof(Ack) <= PIPE_BUF, "pipe writes of one Ack must be atomic");

std::string id_of(const Ack& a) {
  return std::string(a.filing_id, strnlen(a.filing_id, sizeof a.filing_id));
}

// ---- the child --------------------------------------------------------------------------------

[[noreturn]] void child_fail(const std::string& what) {
  const std::string line = "durability child: " + what + "\n";
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  ::_exit(1);
}

void write_ack(int fd, std::mutex& mu, const Ack& ack) {
  std::lock_guard lock(mu);
  const char* p = reinterpret_cast<const char*>(&ack);
  std::size_t left = sizeof ack;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      child_fail(std::string("pipe write failed: ") + std::strerror(errno));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

Payload child_step(int step) {
  switch (step) {
    case 1: {
      PhotoRejected p;
      p.reviewer = "rev-2";
      p.reason = "blurred";
      return p;
    }
    case 2: {
      InitialReviewApproved a;
      a.reviewer = "rev-1";
      a.reason_code = "ok";
      return a;
    }
    default: {
      PhotoApproved p;
      p.reviewer = "rev-2";
      p.method = PhotoMethod::video;
      return p;
    }
  }
}

// Appends forever: new filings (distinct subjects per round and thread), each taken through
// submitted, photo_rejected, initial_review_approved, photo_approved with expected_version.
void child_appender(Ledger& ledger, int fd, std::mutex& pipe_mu, int round, int t) {
  for (int i = 0;; ++i) {
    if (i >= 100'000) child_fail("ran out of subject numbers");
    const std::string id =
        "dur-r" + std::to_string(round) + "-t" + std::to_string(t) + "-f" + std::to_string(i);
    const int n = 1 + round * 1'000'000 + t * 100'000 + i;
    for (int step = 0; step < 4; ++step) {
      AppendCommand cmd =
          step == 0 ? test::submit(id, n) : test::action(id, child_step(step), Version(step));
      auto r = ledger.append(std::move(cmd));
      if (!r) child_fail(id + " step " + std::to_string(step) + ": " + r.error().message);
      Ack ack{};
      if (r->filing_id.size() >= sizeof ack.filing_id) child_fail("filing id too long");
      std::memcpy(ack.filing_id, r->filing_id.data(), r->filing_id.size());
      ack.seq = r->seq.value;
      ack.version = r->version.value;
      ack.type = static_cast<std::uint32_t>(step == 0   ? EventType::filing_submitted
                                            : step == 1 ? EventType::photo_rejected
                                            : step == 2 ? EventType::initial_review_approved
                                                        : EventType::photo_approved);
      write_ack(fd, pipe_mu, ack);
    }
  }
}

// Never returns: the child ends by SIGKILL, or by _exit(1) on an unexpected error. It must never
// unwind into gtest (that would run the remaining tests a second time).
[[noreturn]] void run_child(const std::string& data_dir, int fd, int round) {
  auto opened = Ledger::open({.data_dir = data_dir});
  if (!opened) child_fail("cannot open the ledger: " + opened.error().message);
  // Deliberately leaked: the process dies with the ledger open.
  Ledger* ledger = opened->release();
  std::mutex pipe_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t)
    threads.emplace_back([&, t] { child_appender(*ledger, fd, pipe_mu, round, t); });
  for (auto& th : threads) th.join();  // appenders never return
  child_fail("appender threads returned");
}

// The child's side of run_kill_round: this test re-executed with kChildEnv = "FD:ROUND:DIR".
[[noreturn]] void run_as_child(const std::string& spec) {
  const auto a = spec.find(':');
  const auto b = a == std::string::npos ? a : spec.find(':', a + 1);
  if (b == std::string::npos) child_fail("bad " + std::string(kChildEnv) + ": " + spec);
  run_child(spec.substr(b + 1), std::stoi(spec.substr(0, a)),
            std::stoi(spec.substr(a + 1, b - a - 1)));
}

// ---- the parent -------------------------------------------------------------------------------

// Collects whole Ack records from a byte stream.
class AckReader {
 public:
  void feed(const char* data, std::size_t n) {
    buf_.append(data, n);
    std::size_t off = 0;
    while (buf_.size() - off >= sizeof(Ack)) {
      Ack a;
      std::memcpy(&a, buf_.data() + off, sizeof a);
      acks_.push_back(a);
      off += sizeof a;
    }
    buf_.erase(0, off);
  }
  std::size_t count() const { return acks_.size(); }
  std::size_t partial_bytes() const { return buf_.size(); }
  const std::vector<Ack>& acks() const { return acks_; }

 private:
  std::string buf_;
  std::vector<Ack> acks_;
};

struct Round {
  std::vector<Ack> acks;
  std::size_t acks_before_kill = 0;
};

// Forks the child, waits (bounded) for kAcksBeforeKill acknowledgements, kills it with SIGKILL
// and drains what is left in the pipe.
void run_kill_round(const std::string& data_dir, int round, Round& out) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0) << std::strerror(errno);
  // Everything the child needs is prepared before fork: between fork and exec it may only make
  // async-signal-safe calls (other threads of this process may hold locks, e.g. RocksDB's).
  const std::string self = "/proc/self/exe";
  const std::string filter =
      "--gtest_filter=" +
      std::string(::testing::UnitTest::GetInstance()->current_test_suite()->name()) + "." +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, kChildEnv, std::strlen(kChildEnv)) != 0 ||
        (*e)[std::strlen(kChildEnv)] != '=')
      env_strings.emplace_back(*e);
  }
  env_strings.push_back(std::string(kChildEnv) + "=" + std::to_string(fds[1]) + ":" +
                        std::to_string(round) + ":" + data_dir);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = "durability-child", arg1 = filter;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    ::close(fds[0]);
    ::fcntl(fds[1], F_SETFD, 0);  // the write end survives the exec
    ::execve(self.c_str(), argv, envp.data());
    static const char msg[] = "durability child: exec failed\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(fds[1]);

  AckReader reader;
  char buf[64 * 1024];
  bool eof = false;
  std::string read_error;
  const auto deadline = std::chrono::steady_clock::now() + kRoundDeadline;
  while (!eof && reader.count() < kAcksBeforeKill) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      read_error = std::string("poll: ") + std::strerror(errno);
      break;
    }
    if (ready == 0) continue;  // the deadline check above ends the loop
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      read_error = std::string("read: ") + std::strerror(errno);
      break;
    }
    if (n == 0) eof = true;  // the child died on its own
    reader.feed(buf, static_cast<std::size_t>(n));
  }
  out.acks_before_kill = reader.count();

  ::kill(pid, SIGKILL);
  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(pid, &status, 0);
  } while (waited < 0 && errno == EINTR);

  // The child is gone, so the pipe has no writer left: read to EOF.
  while (!eof) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reader.feed(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  out.acks = reader.acks();

  ASSERT_EQ(waited, pid) << std::strerror(errno);
  EXPECT_EQ(read_error, "");
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child ended on its own (exit status "
      << (WIFEXITED(status) ? WEXITSTATUS(status) : -1) << ") after " << out.acks_before_kill
      << " acknowledgements; see its stderr";
  ASSERT_GE(out.acks_before_kill, kAcksBeforeKill)
      << "only " << out.acks_before_kill << " acknowledgements within the deadline";
  // A record is written with one write() of at most PIPE_BUF bytes, so none is torn.
  EXPECT_EQ(reader.partial_bytes(), 0u);
}

// Walks the whole log column family: keys 1..n gapless, every record's hash is
// SHA-256(body || prev_hash), prev_hash links to the previous record (zero for seq 1), and the
// last record is the head. Returns "" when all holds, else the first problem found.
std::string check_chain(const Store& store, const LedgerHead& head) {
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.cf(Cf::log)));
  Hash prev{};
  std::uint64_t expected = 1;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++expected) {
    const std::string at = "seq " + std::to_string(expected) + ": ";
    if (it->key().ToStringView() != keys::seq(Seq(expected)))
      return at + "found key for seq " +
             std::to_string(keys::parse_seq(it->key().ToStringView())->value);
    auto rec = split_record(it->value().ToStringView());
    if (!rec) return at + "record does not split: " + rec.error().message;
    if (rec->prev_hash != prev) return at + "prev_hash is not the previous record's hash";
    if (chain_hash(rec->body, rec->prev_hash) != rec->hash)
      return at + "hash is not SHA-256(body || prev_hash)";
    prev = rec->hash;
  }
  if (!it->status().ok()) return "log iteration failed: " + it->status().ToString();
  if (expected - 1 != head.seq.value)
    return "log ends at seq " + std::to_string(expected - 1) + " but the head is seq " +
           std::to_string(head.seq.value);
  if (prev != head.hash) return "the head hash is not the last record's hash";
  return "";
}

// Reopens the directory and checks that every acknowledged append survived, the log is gapless
// and chained to the head, and every stream is gapless and agrees with its status. Returns the
// recovered head through `head_out`.
void verify_recovered(const std::string& data_dir, const std::vector<Ack>& acks,
                      LedgerHead& head_out) {
  auto opened = Ledger::open({.data_dir = data_dir});
  ASSERT_TRUE(opened) << opened.error().message;
  std::unique_ptr<Ledger> ledger = std::move(*opened);
  const LedgerHead head = ledger->head();
  head_out = head;

  auto events = ledger->events_after(Seq(0), SIZE_MAX);
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->size(), head.seq.value) << "the log does not end at the head";
  for (std::size_t i = 0; i < events->size(); ++i)
    ASSERT_EQ((*events)[i].seq.value, i + 1) << "the log is not gapless";

  std::map<std::uint64_t, std::size_t> acked_seqs;
  for (const Ack& a : acks) {
    const std::string id = id_of(a);
    ASSERT_TRUE(acked_seqs.emplace(a.seq, 0).second) << "seq " << a.seq << " acknowledged twice";
    ASSERT_GE(a.seq, 1u);
    ASSERT_LE(a.seq, head.seq.value)
        << "acknowledged " << id << " v" << a.version << " at seq " << a.seq
        << " is past the recovered head " << head.seq.value << ": it was lost";
    const Event& e = (*events)[a.seq - 1];
    EXPECT_EQ(e.filing_id, id) << "seq " << a.seq;
    EXPECT_EQ(e.version.value, a.version) << "seq " << a.seq;
    EXPECT_EQ(static_cast<std::uint32_t>(e.type()), a.type) << "seq " << a.seq;
    auto one = ledger->stream(id, Version(a.version), 1);
    ASSERT_TRUE(one) << one.error().message;
    ASSERT_EQ(one->size(), 1u) << id << " v" << a.version << " missing from its stream";
    EXPECT_EQ(one->front().seq.value, a.seq) << id << " v" << a.version;
  }

  // Every stream in the log is gapless, and its status is at its last event.
  std::map<std::string, std::pair<std::uint32_t, std::uint64_t>> last;  // id -> version, seq
  for (const Event& e : *events) {
    auto& [version, seq] = last[e.filing_id];
    ASSERT_EQ(e.version.value, version + 1) << e.filing_id << " at seq " << e.seq.value;
    version = e.version.value;
    seq = e.seq.value;
  }
  for (const auto& [id, vs] : last) {
    auto status = ledger->status(id);
    ASSERT_TRUE(status && *status) << id << " has events but no status";
    EXPECT_EQ((*status)->version.value, vs.first) << id;
    EXPECT_EQ((*status)->last_seq.value, vs.second) << id;
    auto stream = ledger->stream(id);
    ASSERT_TRUE(stream);
    EXPECT_EQ(stream->size(), vs.first) << id;
  }

  EXPECT_EQ(check_chain(ledger->store(), head), "");
  if (!events->empty()) {
    EXPECT_EQ(events->back().hash, head.hash);
  }
}

// Projections after recovery equal a rebuild from the log (the ledger must be closed).
void expect_projections_equal_rebuild(const std::string& data_dir, const LedgerHead& head) {
  auto store = Store::open({.path = data_dir});
  ASSERT_TRUE(store) << store.error().message;
  auto before = projections_digest(**store);
  ASSERT_TRUE(before) << before.error().message;
  auto stats = rebuild_projections(**store);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->events, head.seq.value);
  EXPECT_EQ(stats->head.value, head.seq.value);
  auto after = projections_digest(**store);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(*before, *after) << "recovered projections differ from a rebuild of the log";
}

TEST(DurabilityKill, AcknowledgedAppendsSurviveSigkillTwice) {
  if (const char* child = std::getenv(kChildEnv)) run_as_child(child);  // never returns
  test::TempDir dir;
  std::vector<Ack> all_acks;
  LedgerHead previous;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("kill round " + std::to_string(round));
    Round r;
    ASSERT_NO_FATAL_FAILURE(run_kill_round(dir.str(), round, r));
    // This round continued from the state recovered after the previous one.
    for (const Ack& a : r.acks) {
      ASSERT_GT(a.seq, previous.seq.value)
          << "round " << round << " acknowledged seq " << a.seq
          << " at or below the recovered head " << previous.seq.value;
    }
    all_acks.insert(all_acks.end(), r.acks.begin(), r.acks.end());

    LedgerHead head;
    ASSERT_NO_FATAL_FAILURE(verify_recovered(dir.str(), all_acks, head));
    EXPECT_GE(head.seq.value, previous.seq.value + r.acks.size());
    ASSERT_NO_FATAL_FAILURE(expect_projections_equal_rebuild(dir.str(), head));
    RecordProperty("acks_round_" + std::to_string(round), static_cast<int>(r.acks.size()));
    RecordProperty("head_round_" + std::to_string(round), static_cast<int>(head.seq.value));
    previous = head;
  }
}

}  // namespace
}  // namespace filingd
