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
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace filingd
