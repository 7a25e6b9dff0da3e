#include "daemon/access_log.hpp"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>

#include "events/json_writer.hpp"

namespace filingd {

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& path) {
  // Each log gets its own name: a daemon restarted in-process (tests) opens it again.
  static std::atomic<unsigned> opened{0};
  const std::string name = "access-" + std::to_string(opened.fetch_add(1));
  std::shared_ptr<spdlog::logger> logger;
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);
    logger = std::make_shared<spdlog::logger>(name, std::move(sink));
  } catch (const spdlog::spdlog_ex& e) {
    return make_error(ErrorCode::io, "cannot open the access log " + path + ": " + e.what());
  }
  // It names who did what: as private as the data directory, even if it existed before.
  if (::chmod(path.c_str(), 0600) != 0)
    return make_error(ErrorCode::io, "cannot make the access log " + path + " private");
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::off);
  spdlog::register_logger(logger);  // for spdlog::flush_every
  return std::unique_ptr<AccessLog>(new AccessLog(std::move(logger)));
}

AccessLog::~AccessLog() {
  logger_->flush();
  spdlog::drop(logger_->name());
}

void AccessLog::append(std::string& batch, const AccessEntry& e) {
  JsonWriter w(batch);
  w.begin_object();
  w.key("time").time(e.time);
  w.key("request_id").string(e.request_id);
  w.key("principal").string(e.principal);
  w.key("remote").string(e.remote);
  w.key("method").string(e.method);
  w.key("route").string(e.route);
  if (!e.filing_id.empty()) w.key("filing_id").string(e.filing_id);
  w.key("status").number(static_cast<std::uint64_t>(e.status));
  w.key("bytes").number(e.bytes);
  w.key("duration_us").number(e.micros);
  w.end_object();
  batch += '\n';
}

void AccessLog::write(std::string_view batch) {
  if (batch.ends_with('\n')) batch.remove_suffix(1);  // the logger ends each message with one
  if (!batch.empty()) logger_->info("{}", batch);
}

}  // namespace filingd
