// Transport-neutral HTTP request and response: what the API handlers see. The Beast server
// (http_server.cpp) converts to and from these, so handlers and their tests need no Beast.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace filingd {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form: path and query, percent-encoded
  std::string authorization;
  std::string body;
  std::string remote;         // the peer's address, for the access log
  std::string request_id;     // X-Request-Id: the client's, or one the server made
  std::string if_none_match;  // the console's cache validation (api_console.cpp)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;     // close the connection after it (the request stream is not trusted)
  std::string filing_id;  // the filing it concerns, for the access log; empty: none or many
};

}  // namespace filingd
