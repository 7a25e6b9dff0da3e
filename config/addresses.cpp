#include "config/addresses.hpp"

#include <cctype>
#include <charconv>

namespace filingd {

std::optional<std::string> split_host_port(std::string_view text, bool allow_port_zero,
                                           std::string& host, std::uint16_t& port) {
  std::string_view h;
  std::string_view p;
  if (text.starts_with('[')) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return "expected [ipv6]:port";
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "expected host:port";
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) {
      return "an IPv6 address must be bracketed, as [::1]:8080";
    }
  }
  if (h.empty()) return "missing host";
  for (const char c : h) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '[' || c == ']' ||
        c == '/') {
      return "invalid character in host";
    }
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value > 65535 ||
      (value == 0 && !allow_port_zero)) {
    return allow_port_zero ? "port must be 0..65535" : "port must be 1..65535";
  }
  host = h;
  port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

std::optional<std::string> normalize_kafka_mode(std::string& mode) {
  if (mode == "embedded" || mode == "off") return std::nullopt;
  std::string normalized;
  std::string_view rest = mode;
  for (;;) {
    const std::size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    while (!entry.empty() && entry.front() == ' ') entry.remove_prefix(1);
    while (!entry.empty() && entry.back() == ' ') entry.remove_suffix(1);
    std::string host;
    std::uint16_t port = 0;
    if (auto problem = split_host_port(entry, false, host, port)) {
      return "expected embedded, off or a broker list host:port,... (\"" + std::string(entry) +
             "\": " + *problem + ")";
    }
    normalized += (normalized.empty() ? "" : ",") + std::string(entry);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  mode = normalized;
  return std::nullopt;
}

bool valid_topic(std::string_view t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  for (const char c : t) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

bool is_loopback(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace filingd
