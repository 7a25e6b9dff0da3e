// The address-like values of the configuration: listen addresses, broker lists, topic names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace filingd {

// "host:port" or "[v6]:port"; the host comes back without brackets, as resolvers want it.
// Returns the problem, if any.
std::optional<std::string> split_host_port(std::string_view text, bool allow_port_zero,
                                           std::string& host, std::uint16_t& port);

// "embedded", "off" or a broker list; a broker list is validated entry by entry now rather
// than at the first connection attempt, and normalised (spaces dropped). Returns the problem.
std::optional<std::string> normalize_kafka_mode(std::string& mode);

// 1..249 of [A-Za-z0-9._-], not "." or "..".
bool valid_topic(std::string_view topic);

// 127.0.0.0/8, ::1 and "localhost": where the daemon may run without tokens.
bool is_loopback(std::string_view host);

}  // namespace filingd
