// The operator console (SPEC §7): its files, compiled into the binary (console/), under /console/.
// They are public: the page holds no data, and every figure it shows comes from the /v1 API with
// the user's own token, so the console adds no access path of its own.
#include "console/assets.hpp"
#include "daemon/api.hpp"

namespace filingd {
namespace {

namespace asio = boost::asio;

// The page loads only its own files and talks only to its own origin: an injected value that got
// past the DOM escaping could still run no script and send nothing elsewhere.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'";

void add_security_headers(HttpResponse& r) {
  r.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
}

// Whether an If-None-Match header names `etag` (RFC 9110 §13.1.2: weak comparison, so a
// W/-prefixed copy of the tag matches too; "*" matches any).
bool none_match(std::string_view header, std::string_view etag) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view tag = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

Reply serve(const Call& call, std::string_view path) {
  const ConsoleAsset* asset = find_console_asset(path);
  if (asset == nullptr)
    return make_error(ErrorCode::not_found, "the console has no file " + std::string(path), "path");
  HttpResponse r;
  r.content_type = asset->content_type;
  add_security_headers(r);
  r.headers.emplace_back("ETag", asset->etag);
  // Revalidated on every load, so a new binary's console is never mixed with an old cached one.
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (none_match(call.request.if_none_match, asset->etag)) {
    r.status = 304;
    return r;
  }
  r.body = asset->body;
  return r;
}

Task<Reply> console_page(Call& call) { co_return serve(call, "index.html"); }

Task<Reply> console_file(Call& call) { co_return serve(call, call.path.at(0)); }

// The page's relative links need the trailing slash.
Task<Reply> console_redirect(Call&) {
  HttpResponse r;
  r.status = 308;
  r.content_type = "text/plain; charset=utf-8";
  r.headers.emplace_back("Location", "/console/");
  r.body = "/console/\n";
  co_return r;
}

constexpr Route kRoutes[] = {
    {"GET", "/console", 0, console_redirect, "console_redirect", {}, false},
    {"GET", "/console/", 0, console_page, "console_page", {}, false},
    {"GET", "/console/{path*}", 0, console_file, "console_file", {}, false},
};

}  // namespace

std::span<const Route> console_routes() { return kRoutes; }

}  // namespace filingd
