// An HTTP I/O thread's own state (daemon/http_server_impl.hpp): the read buffers it lends.
#include <gtest/gtest.h>

#include <vector>

#include "daemon/http_server_impl.hpp"

namespace filingd::http_internal {
namespace {

// A burst (a slowloris wave holds a read buffer per connection while its header trickles in)
// must not leave its buffers behind once it is over: those unused for a whole sweep period are
// freed, those the traffic still needs are kept.
TEST(HttpWorker, SpareReadBuffersUnusedForASweepPeriodAreFreed) {
  Worker w;
  w.connections.assign(100, nullptr);  // spares are bounded by the connections
  std::vector<beast::flat_buffer> lent;
  for (int i = 0; i < 100; ++i) {
    lent.push_back(w.take_buffer());
    lent.back().prepare(4096);
  }
  for (auto& b : lent) w.give_buffer(std::move(b));
  ASSERT_EQ(w.spare_buffers.size(), 100u);
  w.trim_spare_buffers();  // the burst's period: every buffer was in use
  EXPECT_EQ(w.spare_buffers.size(), 100u);

  auto b = w.take_buffer();  // one request in the next period
  w.give_buffer(std::move(b));
  w.trim_spare_buffers();
  EXPECT_EQ(w.spare_buffers.size(), 1u);
  w.trim_spare_buffers();  // a period without requests
  EXPECT_EQ(w.spare_buffers.size(), 0u);
  EXPECT_EQ(w.take_buffer().capacity(), 0u);
}

}  // namespace
}  // namespace filingd::http_internal
