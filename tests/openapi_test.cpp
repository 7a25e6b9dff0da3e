// docs/openapi.yaml describes every route of the daemon; this test keeps it from drifting from
// the route table (all_routes()), in both directions: every route is in the document with its
// operationId (the route's metrics name), its roles, its path parameters and exactly its
// declared query parameters (a repeatable one as an exploded array), and the document has no
// operation or query parameter the table lacks.
//
// No YAML library is packaged for C++ here, so the document's `paths:` and
// `components: parameters:` are read line by line, in a strict subset (see the head of
// docs/openapi.yaml). The structure the check rests on (path, method and parameter keys, the
// parameter lists) must be in that subset: a line there that the reader does not understand is
// an error, never skipped, so a document it cannot read fails instead of passing unchecked.
// What lies deeper (responses, bodies, descriptions) is not read.
//
// Path templates: the table writes a rest-of-path parameter "{name*}"; OpenAPI has no such
// form, so the document writes it "{name}" and marks the parameter `x-filingd-wildcard: true`.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "daemon/auth.hpp"
#include "daemon/router.hpp"

#ifndef FILINGD_SOURCE_DIR
#define FILINGD_SOURCE_DIR "."
#endif

namespace filingd {
namespace {

struct Param {
  std::string name;
  std::string in;
  bool explode = false;
  std::string schema_type;  // the schema's own `type`, when it has one
  bool wildcard = false;    // x-filingd-wildcard: true
};

struct Operation {
  std::string operation_id;
  std::optional<std::vector<std::string>> roles;  // x-filingd-roles
  std::string security;                           // the value of a one-line `security:`
  std::vector<Param> params;
  std::vector<std::pair<std::string, int>> refs;  // component names, with their line numbers
};

struct Spec {
  std::map<std::string, std::map<std::string, Operation>> paths;  // path -> METHOD -> operation
  std::vector<std::string> errors;
};

// One line: its indentation (a list item's is its dash's column), whether it is a list item,
// and its key and value (unquoted). A line without "key:" has an empty key and the text as value.
struct Line {
  int number = 0;
  int indent = 0;
  bool item = false;
  std::string key;
  std::string value;
};

std::string unquote(std::string s) {
  if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front())
    return s.substr(1, s.size() - 2);
  return s;
}

Line split(int number, std::string_view text) {
  Line l;
  l.number = number;
  while (static_cast<std::size_t>(l.indent) < text.size() && text[l.indent] == ' ') ++l.indent;
  std::string_view rest = text.substr(l.indent);
  if (rest.starts_with("- ")) {
    l.item = true;
    rest.remove_prefix(2);
  }
  std::size_t colon = 0;
  for (; colon < rest.size(); ++colon)
    if (rest[colon] == ':' && (colon + 1 == rest.size() || rest[colon + 1] == ' ')) break;
  if (colon == rest.size() || rest.starts_with('{') || rest.starts_with('[')) {
    l.value = std::string(rest);
    return l;
  }
  l.key = unquote(std::string(rest.substr(0, colon)));
  std::string_view value = colon + 1 < rest.size() ? rest.substr(colon + 2) : "";
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  l.value = unquote(std::string(value));
  return l;
}

bool block_scalar(const std::string& value) {
  return value == "|" || value == ">" || value == "|-" || value == ">-" || value == "|+" ||
         value == ">+";
}

// The top-level `type` of a one-line flow mapping ("{type: integer, minimum: 1}"), or "".
std::string flow_type(std::string_view flow) {
  if (!flow.starts_with('{') || !flow.ends_with('}')) return "";
  flow = flow.substr(1, flow.size() - 2);
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= flow.size(); ++i) {
    const char c = i < flow.size() ? flow[i] : ',';
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    if (c != ',' || depth != 0) continue;
    std::string_view entry = flow.substr(start, i - start);
    while (entry.starts_with(' ')) entry.remove_prefix(1);
    if (entry.starts_with("type: ")) return std::string(entry.substr(6));
    start = i + 1;
  }
  return "";
}

std::optional<std::vector<std::string>> flow_list(std::string_view text) {
  if (!text.starts_with('[') || !text.ends_with(']')) return std::nullopt;
  std::vector<std::string> out;
  std::string item;
  for (char c : text.substr(1, text.size() - 2)) {
    if (c == ',') {
      out.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item.push_back(c);
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}

// Reads the subset. Errors name the line.
Spec read_spec(std::string_view text) {
  static const std::set<std::string> kMethods = {"get",     "put",  "post",  "delete",
                                                 "options", "head", "patch", "trace"};
  constexpr std::string_view kParamRef = "#/components/parameters/";
  Spec spec;
  std::map<std::string, Param> components;
  enum class Section { other, paths, components, component_params } section = Section::other;
  std::string path;         // the path being read
  Operation* op = nullptr;  // the operation being read
  bool in_params = false;   // in its `parameters:` list
  Param* param = nullptr;   // the parameter whose keys are being read
  int param_indent = 0;     // the indentation of those keys
  bool in_schema = false;   // in its `schema:`
  int skip_deeper = -1;     // in a block scalar: the lines indented more than this are its text
  auto fail = [&](int line, const std::string& what) {
    spec.errors.push_back("docs/openapi.yaml:" + std::to_string(line) + ": " + what);
  };
  auto param_key = [&](const Line& l) {
    in_schema = false;
    if (l.key == "name") param->name = l.value;
    if (l.key == "in") param->in = l.value;
    if (l.key == "explode") param->explode = l.value == "true";
    if (l.key == "x-filingd-wildcard") param->wildcard = l.value == "true";
    if (l.key == "schema") {
      in_schema = l.value.empty();
      param->schema_type = flow_type(l.value);
    }
  };
  // A line inside a parameter: one of its keys, or its schema's `type`; deeper ones are not read.
  auto param_line = [&](const Line& l) {
    if (l.indent == param_indent && !l.item && !l.key.empty())
      param_key(l);
    else if (l.indent == param_indent + 2 && in_schema && l.key == "type")
      param->schema_type = l.value;
    else if (l.indent <= param_indent)
      fail(l.number, "expected a key of the parameter");
  };

  std::istringstream in{std::string(text)};
  int number = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++number;
    if (raw.find('\t') != std::string::npos) {
      fail(number, "a tab");
      continue;
    }
    const std::size_t first = raw.find_first_not_of(' ');
    const bool blank = first == std::string::npos;
    const Line l = split(number, raw);
    if (skip_deeper >= 0 && (blank || l.indent > skip_deeper)) continue;
    skip_deeper = -1;
    if (blank || raw[first] == '#') continue;
    if (block_scalar(l.value)) skip_deeper = l.indent + (l.item ? 2 : 0);

    if (l.indent == 0) {
      section = l.key == "paths"        ? Section::paths
                : l.key == "components" ? Section::components
                                        : Section::other;
      op = nullptr;
      param = nullptr;
      if (section != Section::other && !l.value.empty()) fail(number, l.key + " must be a block");
      continue;
    }
    if (section == Section::other) continue;
    if (l.indent % 2 != 0 && l.indent <= 12) {
      fail(number, "indentation is not a multiple of two");
      continue;
    }

    if (section == Section::components || section == Section::component_params) {
      if (l.indent == 2) {
        section = l.key == "parameters" ? Section::component_params : Section::components;
        param = nullptr;
      } else if (section == Section::component_params && l.indent == 4) {
        if (l.item || l.key.empty() || !l.value.empty()) {
          fail(number, "expected a parameter's name key");
          continue;
        }
        if (components.contains(l.key)) fail(number, "parameter " + l.key + " twice");
        param = &components[l.key];
        param_indent = 6;
        in_schema = false;
      } else if (section == Section::component_params && param != nullptr) {
        param_line(l);
      }
      continue;
    }

    // The paths.
    if (l.indent == 2) {
      if (l.item || !l.key.starts_with('/') || !l.value.empty()) {
        fail(number, "expected a path key \"/...:\"");
        continue;
      }
      if (spec.paths.contains(l.key)) fail(number, "path " + l.key + " twice");
      path = l.key;
      spec.paths[path];
      op = nullptr;
    } else if (l.indent == 4) {
      // Methods only: path-level parameters (or anything else there) are outside the subset.
      op = nullptr;
      if (path.empty() || l.item || !kMethods.contains(l.key) || !l.value.empty()) {
        fail(number, "expected an HTTP method key (get:, post:, ...)");
        continue;
      }
      std::string method = l.key;
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (spec.paths[path].contains(method)) fail(number, method + " " + path + " twice");
      op = &spec.paths[path][method];
      in_params = false;
    } else if (op == nullptr) {
      fail(number, "a line outside any operation");
    } else if (l.indent == 6) {
      in_params = false;
      param = nullptr;
      if (l.item || l.key.empty()) {
        fail(number, "expected a key of the operation");
      } else if (l.key == "operationId") {
        op->operation_id = l.value;
      } else if (l.key == "x-filingd-roles") {
        op->roles = flow_list(l.value);
        if (!op->roles) fail(number, "x-filingd-roles must be a one-line list [a, b]");
      } else if (l.key == "security") {
        op->security = l.value;
      } else if (l.key == "parameters") {
        in_params = true;
        if (!l.value.empty()) fail(number, "parameters must be a block list");
      }
    } else if (in_params && l.indent == 8) {
      param = nullptr;
      if (!l.item || l.key.empty()) {
        fail(number, "expected a parameter item \"- $ref: ...\" or \"- name: ...\"");
      } else if (l.key == "$ref") {
        if (l.value.starts_with(kParamRef))
          op->refs.emplace_back(l.value.substr(kParamRef.size()), number);
        else
          fail(number, "a parameter $ref must name " + std::string(kParamRef) + "...");
      } else {
        param = &op->params.emplace_back();
        param_indent = 10;
        param_key(l);
      }
    } else if (in_params && param != nullptr) {
      param_line(l);
    } else if (in_params) {
      fail(number, "expected a parameter item");
    }
  }

  for (auto& [p, ops] : spec.paths) {
    for (auto& [method, o] : ops) {
      for (const auto& [name, line] : o.refs) {
        const auto c = components.find(name);
        if (c == components.end())
          fail(line, "no component parameter " + name);
        else
          o.params.push_back(c->second);
      }
      for (const Param& x : o.params)
        if (x.name.empty() || x.in.empty())
          spec.errors.push_back(method + " " + p + ": a parameter without name or in");
    }
  }
  return spec;
}

// ---- the route table, as the document writes it -----------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const Spec& document() {
  static const Spec spec = read_spec(read_file(FILINGD_SOURCE_DIR "/docs/openapi.yaml"));
  return spec;
}

// "/console/{path*}" -> "/console/{path}".
std::string document_path(std::string_view pattern) {
  std::string out(pattern);
  for (std::size_t at; (at = out.find("*}")) != std::string::npos;) out.erase(at, 1);
  return out;
}

// The "{…}" parameters of a route template: name -> whether it takes the rest of the path.
std::map<std::string, bool> path_params(std::string_view pattern) {
  std::map<std::string, bool> out;
  for (std::size_t open; (open = pattern.find('{')) != std::string_view::npos;) {
    const std::size_t close = pattern.find('}', open);
    std::string name(pattern.substr(open + 1, close - open - 1));
    const bool rest = name.ends_with('*');
    if (rest) name.pop_back();
    out[name] = rest;
    pattern.remove_prefix(close + 1);
  }
  return out;
}

std::set<std::string> roles_of(unsigned permission) {
  static constexpr std::pair<Role, std::string_view> kRoles[] = {
      {Role::operator_, "operator"},
      {Role::auditor, "auditor"},
      {Role::reader, "reader"},
      {Role::privacy_officer, "privacy_officer"}};
  std::set<std::string> out;
  if (permission == 0) return out;  // public: no token
  for (const auto& [role, name] : kRoles)
    if (permissions_of(role) & permission) out.emplace(name);
  return out;
}

std::string describe(const Route& r) {
  return std::string(r.method) + " " + std::string(r.pattern);
}

// ---- the checks ---------------------------------------------------------------------------------

TEST(OpenApi, TheDocumentKeepsToTheSubsetItsCheckReads) {
  const Spec& spec = document();
  for (const auto& e : spec.errors) ADD_FAILURE() << e;
  EXPECT_FALSE(spec.paths.empty()) << "docs/openapi.yaml is missing or has no paths";
}

TEST(OpenApi, EveryRouteIsDocumentedWithItsParametersAndRoles) {
  const Spec& spec = document();
  for (const Route& route : all_routes()) {
    SCOPED_TRACE(describe(route));
    const auto path = spec.paths.find(document_path(route.pattern));
    ASSERT_TRUE(path != spec.paths.end())
        << "not in docs/openapi.yaml as " << document_path(route.pattern);
    const auto found = path->second.find(std::string(route.method));
    ASSERT_TRUE(found != path->second.end()) << "the path has no " << route.method;
    const Operation& op = found->second;

    EXPECT_EQ(op.operation_id, route.name);
    ASSERT_TRUE(op.roles.has_value()) << "no x-filingd-roles";
    EXPECT_EQ(std::set<std::string>(op.roles->begin(), op.roles->end()),
              roles_of(route.permission));
    EXPECT_EQ(op.security == "[]", route.permission == 0)
        << "a public route, and only one, has `security: []`";

    std::map<std::string, bool> documented_path;
    std::map<std::string, const Param*> documented_query;
    for (const Param& p : op.params) {
      if (p.in == "path") {
        EXPECT_FALSE(documented_path.contains(p.name)) << "path parameter " << p.name << " twice";
        documented_path[p.name] = p.wildcard;
      } else if (p.in == "query") {
        EXPECT_FALSE(documented_query.contains(p.name)) << "query parameter " << p.name << " twice";
        documented_query[p.name] = &p;
      } else {
        EXPECT_FALSE(p.wildcard) << p.name;
      }
    }
    EXPECT_EQ(documented_path, path_params(route.pattern))
        << "path parameters (name -> x-filingd-wildcard) differ from the template";

    std::set<std::string> declared;
    for (const QueryParam& q : route.params) {
      declared.emplace(q.name);
      const auto p = documented_query.find(std::string(q.name));
      if (p == documented_query.end()) {
        ADD_FAILURE() << "query parameter " << q.name << " is not documented";
        continue;
      }
      const bool as_array = p->second->schema_type == "array" && p->second->explode;
      EXPECT_EQ(as_array, q.repeatable)
          << "query parameter " << q.name
          << (q.repeatable ? " is repeatable: document it as an array with explode: true"
                           : " is not repeatable: document it as one value");
    }
    for (const auto& [name, p] : documented_query)
      EXPECT_TRUE(declared.contains(name))
          << "documented query parameter " << name << " is not declared by the route";
  }
}

TEST(OpenApi, TheDocumentHasNoOperationTheRouteTableLacks) {
  std::set<std::pair<std::string, std::string>> routes;
  for (const Route& r : all_routes())
    routes.emplace(document_path(r.pattern), std::string(r.method));
  for (const auto& [path, ops] : document().paths) {
    EXPECT_FALSE(ops.empty()) << path << " has no operation";
    for (const auto& [method, op] : ops)
      EXPECT_TRUE(routes.contains({path, method}))
          << method << " " << path << " (" << op.operation_id << ") is no route of the daemon";
  }
}

// The reader refuses what it does not understand, rather than reading past it.
TEST(OpenApiReader, RefusesWhatIsOutsideTheSubset) {
  const auto errors = [](std::string_view text) { return read_spec(text).errors.size(); };
  constexpr std::string_view kGood =
      "paths:\n"
      "  /a/{x}:\n"
      "    get:\n"
      "      operationId: a\n"
      "      description: |\n"
      "        - name: hidden\n"
      "          in: query\n"
      "      parameters:\n"
      "        - $ref: '#/components/parameters/X'\n"
      "        - name: q\n"
      "          in: query\n"
      "          style: form\n"
      "          explode: true\n"
      "          schema:\n"
      "            type: array\n"
      "components:\n"
      "  parameters:\n"
      "    X:\n"
      "      name: x\n"
      "      in: path\n"
      "      schema: {type: string, example: {a: 1}}\n";
  const Spec good = read_spec(kGood);
  ASSERT_TRUE(good.errors.empty()) << good.errors.front();
  const auto& params = good.paths.at("/a/{x}").at("GET").params;
  ASSERT_EQ(params.size(), 2u);  // the description's text is no parameter
  EXPECT_EQ(params[0].name, "q");
  EXPECT_TRUE(params[0].explode);
  EXPECT_EQ(params[0].schema_type, "array");
  EXPECT_EQ(params[1].name, "x");
  EXPECT_EQ(params[1].schema_type, "string");

  EXPECT_GT(errors("paths:\n  /a:\n    parameters:\n      - name: q\n"), 0u);         // path-level
  EXPECT_GT(errors("paths:\n  /a:\n    get:\n      parameters: [{name: q}]\n"), 0u);  // flow
  EXPECT_GT(errors("paths:\n  /a:\n    get:\n      parameters:\n        - {name: q}\n"), 0u);
  EXPECT_GT(errors("paths:\n  /a:\n    get:\n      parameters:\n        - $ref: '#/x'\n"), 0u);
  EXPECT_GT(errors("paths:\n  /a:\n    get:\n      parameters:\n"
                   "        - $ref: '#/components/parameters/Missing'\n"),
            0u);
  EXPECT_GT(errors("paths:\n  /a:\n    get:\n      parameters:\n        - in: query\n"), 0u);
  EXPECT_GT(errors("paths:\n  /a:\n   get:\n"), 0u);     // odd indentation
  EXPECT_GT(errors("paths:\n  /a:\n\tget:\n"), 0u);      // a tab
  EXPECT_GT(errors("paths:\n  a:\n    get:\n"), 0u);     // not a path
  EXPECT_GT(errors("paths:\n  /a:\n    fetch:\n"), 0u);  // not a method
  EXPECT_GT(errors("paths:\n  /a:\n    get:\n      x-filingd-roles: operator\n"), 0u);
}

TEST(OpenApiReader, MapsARestOfPathParameterToItsName) {
  EXPECT_EQ(document_path("/v1/ledger/tile/{path*}"), "/v1/ledger/tile/{path}");
  EXPECT_EQ(path_params("/v1/ledger/tile/{path*}"), (std::map<std::string, bool>{{"path", true}}));
  EXPECT_EQ(path_params("/v1/filings/{id}/events"), (std::map<std::string, bool>{{"id", false}}));
}

}  // namespace
}  // namespace filingd
