// Writes the seed corpus of fuzz_stored_event: one stored record (body || prev_hash || hash)
// per event type, built from the SPEC §3.4 example payloads, plus one bare body. Not a fuzz
// target; run once when the stored encoding changes and commit the files:
//   build-fuzz/tests/fuzz/seed_stored_event tests/fuzz/corpus/fuzz_stored_event

#include <boost/json/parse.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "events/codec.hpp"
#include "events/hash.hpp"
#include "events/json.hpp"
#include "ledger/format/event_record.hpp"
#include "events/validation.hpp"

namespace {

using namespace filingd;

const std::vector<std::pair<EventType, const char*>> kPayloads = {
    {EventType::filing_submitted,
     R"({"filing_type":"first_filing","province":"京","provider":"jdcloud",
        "subject":{"kind":"individual","name":"张三","id_type":"resident_id",
                   "id_number":"110101199003074514","address":"北京市海淀区中关村大街1号"},
        "websites":[{"name":"张三的博客","domains":["zhangsan.cn","www.zhangsan.cn"],
                     "responsible":{"name":"张三","id_type":"resident_id",
                                    "id_number":"110101199003074514","mobile":"13800138000",
                                    "email":"zs@zhangsan.cn"}}]})"},
    {EventType::initial_review_approved, R"({"reviewer":"rev-1"})"},
    {EventType::initial_review_rejected,
     R"({"reviewer":"rev-2","reason_code":"website_name","reason":"网站名称不符合要求"})"},
    {EventType::photo_approved, R"({"method":"photo"})"},
    {EventType::photo_rejected, R"({"method":"sh_app","reason":"背景不符合要求"})"},
    {EventType::submitted_to_bureau,
     R"({"sms_deadline":"2026-11-23T08:00:00Z","policy_id":"default-24h"})"},
    {EventType::sms_confirmed, R"({"phone":"*******8000"})"},
    {EventType::sms_attempt_failed, R"({"attempt":3})"},
    {EventType::sms_expired, R"({"deadline":"2026-11-23T08:00:00Z"})"},
    {EventType::bureau_approved,
     R"({"subject_record_number":"京ICP备2026000123号",
        "websites":[{"domain":"zhangsan.cn","record_number":"京ICP备2026000123号-1"},
                    {"domain":"www.zhangsan.cn","record_number":"京ICP备2026000123号-1"}]})"},
    {EventType::bureau_rejected, R"({"reason_code":"subject_name","reason":"主体名称有误"})"},
    {EventType::filing_withdrawn, R"({"reason_code":"no_longer_needed","reason":"不再需要"})"},
    {EventType::filing_abandoned, R"({})"},
    {EventType::record_cancelled,
     R"({"record_number":"蜀ICP备2024012345号-3","reason":"网站已关闭"})"},
};

bool write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  Hash prev{};
  std::uint64_t seq = 1;
  for (const auto& [type, text] : kPayloads) {
    auto payload = payload_from_json(type, boost::json::parse(text));
    if (!payload || !validate_payload(*payload)) {
      std::fprintf(stderr, "bad seed payload for %s\n", std::string(to_string(type)).c_str());
      return 1;
    }
    Event e;
    e.seq = Seq(seq);
    e.filing_id = "F2026-000001";
    e.version = Version(static_cast<std::uint32_t>(seq));
    e.event_id = "5f0c7c0e-0000-4000-8000-" + std::to_string(100000000000 + seq);
    e.schema = current_schema(type);
    e.occurred_at = Timestamp{1'795'334'400'000'000 + static_cast<std::int64_t>(seq) * 60'000'000};
    e.recorded_at = Timestamp{e.occurred_at.micros + 123'456};
    e.actor = "desk-1";
    e.data = std::move(*payload);
    const std::string body = encode_body(e);
    const Hash hash = chain_hash(body, prev);
    const std::string name = dir + "/" + std::string(to_string(type)) + ".bin";
    if (!write(name, make_record(body, prev, hash))) return 1;
    if (seq == 1 && !write(dir + "/body_filing_submitted.bin", body)) return 1;
    prev = hash;
    ++seq;
  }
  return 0;
}
