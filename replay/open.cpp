#include "replay/open.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

namespace filingd {
namespace {

namespace fs = std::filesystem;

Status check_ledger_dir(const std::string& data_dir) {
  std::error_code ec;
  if (!fs::is_directory(data_dir, ec))
    return make_error(ErrorCode::not_found, "no ledger at " + data_dir + ": not a directory");
  if (!fs::exists(fs::path(data_dir) / "CURRENT", ec))
    return make_error(ErrorCode::not_found,
                      "no ledger at " + data_dir + ": it holds no RocksDB database (no CURRENT)");
  return {};
}

// The pid holding a POSIX lock on data_dir/LOCK (RocksDB locks it with fcntl), if another
// process does.
std::optional<pid_t> lock_holder(const std::string& data_dir) {
  const std::string path = (fs::path(data_dir) / "LOCK").string();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  std::optional<pid_t> holder;
  if (::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK) holder = probe.l_pid;
  ::close(fd);
  return holder;
}

bool mentions_lock(std::string message) {
  std::transform(message.begin(), message.end(), message.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return message.find("lock") != std::string::npos;
}

}  // namespace

Result<std::unique_ptr<Store>> open_for_reading(const std::string& data_dir) {
  if (auto ok = check_ledger_dir(data_dir); !ok) return ok.take_error();
  // OpenAsSecondary replays the primary's MANIFEST and WAL: the view is current as of now.
  return Store::open(
      {.path = data_dir, .secondary = true, .block_cache_bytes = kToolBlockCacheBytes});
}

Result<std::unique_ptr<Store>> open_offline(const std::string& data_dir) {
  if (auto ok = check_ledger_dir(data_dir); !ok) return ok.take_error();
  auto store = Store::open(
      {.path = data_dir, .create_if_missing = false, .block_cache_bytes = kToolBlockCacheBytes});
  if (store) return store;
  return explain_open_failure(data_dir, store.take_error());
}

Error explain_open_failure(const std::string& data_dir, Error failed) {
  const auto holder = lock_holder(data_dir);
  if (!holder && !mentions_lock(failed.message)) return failed;
  std::string who = holder ? "process " + std::to_string(*holder) : "another user of the ledger";
  return make_error(ErrorCode::unavailable,
                    "the ledger at " + data_dir + " is in use: " + who +
                        " holds its RocksDB LOCK. Stop filingd first; this command needs the "
                        "ledger offline (" +
                        failed.message + ")");
}

}  // namespace filingd
