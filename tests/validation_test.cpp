#include "events/validation.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace filingd {
namespace {

// ---- helpers -----------------------------------------------------------------------------

void expect_error(const Status& s, std::string_view field, std::string_view message_part = {}) {
  ASSERT_FALSE(s.ok()) << "expected an error on " << field;
  EXPECT_EQ(s.error().code, ErrorCode::invalid);
  EXPECT_EQ(s.error().field, field) << s.error().message;
  EXPECT_NE(s.error().message.find(message_part), std::string::npos) << s.error().message;
}

void expect_ok(const Status& s) {
  EXPECT_TRUE(s.ok()) << s.error().field << ": " << s.error().message;
}

Person responsible() {
  return Person{"张三", "resident_id", "110101199003074514", "13800138000", "zs@zhangsan.cn"};
}

FilingSubmitted first_filing() {
  FilingSubmitted f;
  f.filing_type = FilingType::first_filing;
  f.province = "京";
  f.provider = "jdcloud";
  f.subject = Subject{"individual", "张三", "resident_id", "110101199003074514",
                      "北京市海淀区中关村大街1号"};
  f.websites = {Website{"张三的博客", {"zhangsan.cn", "www.zhangsan.cn"}, responsible(), ""}};
  return f;
}

FilingSubmitted access_filing(FilingType type) {
  auto f = first_filing();
  f.filing_type = type;
  f.existing_record_number = "京ICP备2024012345号";
  f.websites[0].record_number = "京ICP备2024012345号-1";
  return f;
}

Website website(std::string domain) {
  return Website{"站点", {std::move(domain)}, responsible(), ""};
}

Status validate(FilingSubmitted f) {
  Payload p = std::move(f);
  return validate_payload(p);
}

Status validate(Payload p) { return validate_payload(p); }

// ---- filing_id / event_id ----------------------------------------------------------------

TEST(FilingId, AcceptsTheAllowedAlphabet) {
  for (const std::string& id :
       std::vector<std::string>{"F2026-000123", "a", "A.b_c-9", std::string(64, 'x')}) {
    expect_ok(validate_filing_id(id));
  }
}

TEST(FilingId, RefusesOtherCharactersAndLengths) {
  for (const std::string& id : std::vector<std::string>{"", std::string(65, 'x'), "a b", "a/b",
                                                        "a:b", "a\nb", "é", "备案"}) {
    expect_error(validate_filing_id(id), "filing_id", "1 to 64 characters");
  }
  expect_error(validate_filing_id("a/b", "path.id"), "path.id");
  // GET /v1/filings/export is the desk's export, so no filing may take that id.
  expect_error(validate_filing_id("export"), "filing_id", "reserved");
  expect_ok(validate_filing_id("export-1"));
}

TEST(EventId, AcceptsPrintableAscii) {
  for (const std::string& id : std::vector<std::string>{"5f0c7c0e-1b2c-4d5e-8f90-123456789abc", "!",
                                                        "~{}[]\"'", std::string(128, 'e')}) {
    expect_ok(validate_event_id(id));
  }
}

TEST(EventId, RefusesEmptyLongBlankControlAndNonAscii) {
  for (const std::string& id : std::vector<std::string>{"", std::string(129, 'e'), "a b", "a\tb",
                                                        "a\x7f", "事件", std::string("a\0b", 3)}) {
    expect_error(validate_event_id(id), "event_id", "printable");
  }
  expect_error(validate_event_id("", "data.event_id"), "data.event_id");
}

// ---- resident ID -------------------------------------------------------------------------

TEST(ResidentId, AcceptsValidNumbers) {
  for (std::string_view id : {"110101199003074514", "11010519491231002X",
                              "440301200002291237",     // 29 Feb of a leap century year
                              "310101190001010003",     // earliest year accepted
                              "310101210012310007"}) {  // latest year accepted
    expect_ok(validate_resident_id(id, "subject.id_number"));
  }
}

TEST(ResidentId, RefusesWrongLength) {
  for (std::string_view id : {"", "11010119900307451", "1101011990030745140"}) {
    expect_error(validate_resident_id(id, "subject.id_number"), "subject.id_number",
                 "18 characters");
  }
}

TEST(ResidentId, RefusesNonDigitsInTheFirst17) {
  expect_error(validate_resident_id("11010A199003074514", "f"), "f", "17 digits");
  expect_error(validate_resident_id("X10101199003074514", "f"), "f", "17 digits");
}

TEST(ResidentId, RefusesLowerCaseX) {
  expect_error(validate_resident_id("11010519491231002x", "f"), "f", "upper-case X");
}

TEST(ResidentId, RefusesOtherCheckCharacters) {
  expect_error(validate_resident_id("11010519491231002Y", "f"), "f", "digit or X");
}

TEST(ResidentId, RefusesWrongCheckDigit) {
  expect_error(validate_resident_id("110101199003074515", "subject.id_number"), "subject.id_number",
               "subject.id_number is not a valid GB 11643 resident ID (check digit)");
  expect_error(validate_resident_id("110105194912310021", "f"), "f", "check digit");
}

TEST(ResidentId, RefusesImpossibleBirthDates) {
  // Each has a correct check character, so only the date can be at fault.
  for (std::string_view id : {"31010120230230000X",     // 30 Feb
                              "310101199013010001",     // month 13
                              "310101199000010002",     // month 0
                              "310101199004310002",     // 31 Apr
                              "310101199001000009",     // day 0
                              "310101190002290000",     // 1900 is not a leap year
                              "310101189912310009",     // before 1900
                              "310101210101010006"}) {  // after 2100
    expect_error(validate_resident_id(id, "f"), "f", "birth date");
  }
}

// ---- mobile ------------------------------------------------------------------------------

TEST(Mobile, AcceptsElevenDigitsFrom13To19) {
  for (std::string_view m : {"13800138000", "13000000000", "15912345678", "19999999999"}) {
    expect_ok(validate_mobile(m, "mobile"));
  }
}

TEST(Mobile, RefusesWrongPrefix) {
  for (std::string_view m : {"12800138000", "10800138000", "23800138000", "03800138000"}) {
    expect_error(validate_mobile(m, "m"), "m", "13 to 19");
  }
}

TEST(Mobile, RefusesWrongLengthOrNonDigits) {
  for (std::string_view m : {"1380013800", "138001380000", "+8613800138", "1380013800a",
                             "138 0013800", "１３８００１３８０００"}) {
    expect_error(validate_mobile(m, "m"), "m", "11 digits");
  }
  expect_error(validate_mobile("", "websites[0].responsible.mobile"),
               "websites[0].responsible.mobile", "required");
}

// ---- domain ------------------------------------------------------------------------------

TEST(Domain, LowercasesInPlace) {
  std::string d = "WWW.ZhangSan.CN";
  expect_ok(validate_domain(d, "d"));
  EXPECT_EQ(d, "www.zhangsan.cn");
}

TEST(Domain, AcceptsHostNames) {
  std::string label63(63, 'a');
  // Three full 63-character labels, a 58-character one and a TLD: exactly 253 characters.
  std::string longest =
      label63 + "." + label63 + "." + label63 + "." + std::string(58, 'b') + ".cn";
  ASSERT_EQ(longest.size(), 253u);
  for (std::string d :
       std::vector<std::string>{"a.cn", "zhangsan.cn", "a-b.c-d.com", "xn--fiqs8s.cn",
                                "1.example.com", "123.cn1", label63 + ".cn", longest}) {
    expect_ok(validate_domain(d, "d"));
  }
}

TEST(Domain, RefusesNonAsciiAndPointsToPunycode) {
  std::string d = "例子.中国";
  expect_error(validate_domain(d, "websites[0].domains[0]"), "websites[0].domains[0]",
               "punycode (xn--");
  std::string mixed = "caf\xc3\xa9.fr";
  expect_error(validate_domain(mixed, "d"), "d", "punycode");
}

TEST(Domain, RefusesEmptyLabelsAndSingleLabel) {
  std::string empty;
  expect_error(validate_domain(empty, "d"), "d", "required");
  for (std::string d : {"example.", ".example.com", "a..b", "."}) {
    expect_error(validate_domain(d, "d"), "d", "empty label");
  }
  std::string single = "localhost";
  expect_error(validate_domain(single, "d"), "d", "two labels");
}

TEST(Domain, RefusesBadCharacters) {
  for (std::string d : {"a_b.com", "a b.com", "*.example.com", "example.cn:80", "http://x.cn",
                        "a/b.cn", "a@b.cn"}) {
    expect_error(validate_domain(d, "d"), "d", "only letters, digits");
  }
}

TEST(Domain, RefusesHyphenAtLabelEdges) {
  for (std::string d : {"-a.com", "a-.com", "a.-com", "a.com-"}) {
    expect_error(validate_domain(d, "d"), "d", "starts or ends with '-'");
  }
}

TEST(Domain, RefusesOverlongLabelAndName) {
  std::string label = std::string(64, 'a') + ".cn";
  expect_error(validate_domain(label, "d"), "d", "63");
  std::string label63(63, 'a');
  std::string name = label63 + "." + label63 + "." + label63 + "." + std::string(59, 'b') + ".cn";
  ASSERT_EQ(name.size(), 254u);
  expect_error(validate_domain(name, "d"), "d", "253");
}

TEST(Domain, RefusesNumericTopLevelLabel) {
  for (std::string d : {"192.168.0.1", "example.123"}) {
    expect_error(validate_domain(d, "d"), "d", "all digits");
  }
}

// ---- provinces ---------------------------------------------------------------------------

TEST(Province, AbbreviationsAreCanonical) {
  for (std::string p : {"京", "津", "冀", "晋", "蒙", "辽", "吉", "黑", "沪", "苏", "浙",
                        "皖", "闽", "赣", "鲁", "豫", "鄂", "湘", "粤", "桂", "琼", "渝",
                        "川", "贵", "云", "藏", "陕", "甘", "青", "宁", "新"}) {
    EXPECT_EQ(canonical_province(p), p);
  }
}

TEST(Province, AliasesResolve) {
  EXPECT_EQ(canonical_province("蜀"), "川");
  EXPECT_EQ(canonical_province("黔"), "贵");
  EXPECT_EQ(canonical_province("滇"), "云");
  EXPECT_EQ(canonical_province("陇"), "甘");
}

TEST(Province, FullNamesResolveWithAndWithoutSuffix) {
  struct Case {
    std::string_view name, abbr;
  };
  for (const auto& c : {
           Case{"北京", "京"},   Case{"北京市", "京"},
           Case{"天津", "津"},   Case{"天津市", "津"},
           Case{"河北", "冀"},   Case{"河北省", "冀"},
           Case{"山西", "晋"},   Case{"山西省", "晋"},
           Case{"内蒙古", "蒙"}, Case{"内蒙古自治区", "蒙"},
           Case{"辽宁", "辽"},   Case{"辽宁省", "辽"},
           Case{"吉林", "吉"},   Case{"吉林省", "吉"},
           Case{"黑龙江", "黑"}, Case{"黑龙江省", "黑"},
           Case{"上海", "沪"},   Case{"上海市", "沪"},
           Case{"江苏", "苏"},   Case{"江苏省", "苏"},
           Case{"浙江", "浙"},   Case{"浙江省", "浙"},
           Case{"安徽", "皖"},   Case{"安徽省", "皖"},
           Case{"福建", "闽"},   Case{"福建省", "闽"},
           Case{"江西", "赣"},   Case{"江西省", "赣"},
           Case{"山东", "鲁"},   Case{"山东省", "鲁"},
           Case{"河南", "豫"},   Case{"河南省", "豫"},
           Case{"湖北", "鄂"},   Case{"湖北省", "鄂"},
           Case{"湖南", "湘"},   Case{"湖南省", "湘"},
           Case{"广东", "粤"},   Case{"广东省", "粤"},
           Case{"广西", "桂"},   Case{"广西壮族自治区", "桂"},
           Case{"海南", "琼"},   Case{"海南省", "琼"},
           Case{"重庆", "渝"},   Case{"重庆市", "渝"},
           Case{"四川", "川"},   Case{"四川省", "川"},
           Case{"贵州", "贵"},   Case{"贵州省", "贵"},
           Case{"云南", "云"},   Case{"云南省", "云"},
           Case{"西藏", "藏"},   Case{"西藏自治区", "藏"},
           Case{"陕西", "陕"},   Case{"陕西省", "陕"},
           Case{"甘肃", "甘"},   Case{"甘肃省", "甘"},
           Case{"青海", "青"},   Case{"青海省", "青"},
           Case{"宁夏", "宁"},   Case{"宁夏回族自治区", "宁"},
           Case{"新疆", "新"},   Case{"新疆维吾尔自治区", "新"},
       }) {
    EXPECT_EQ(canonical_province(c.name), std::string(c.abbr)) << c.name;
  }
}

TEST(Province, RefusesUnknownNames) {
  for (std::string_view p : {"", "火星", "北", "北京省", "北京市市", "京 ", "Beijing", "香港",
                             "四川市", "广西省", "京津"}) {
    EXPECT_FALSE(canonical_province(p).has_value()) << p;
  }
}

// ---- filing_submitted: basics ------------------------------------------------------------

TEST(FilingSubmittedValidation, AcceptsTheSpecExample) { expect_ok(validate(first_filing())); }

TEST(FilingSubmittedValidation, NormalisesProvinceAndDomains) {
  auto f = first_filing();
  f.province = "北京市";
  f.websites[0].domains = {"ZhangSan.CN", "WWW.zhangsan.cn"};
  Payload p = f;
  expect_ok(validate_payload(p));
  const auto& out = std::get<FilingSubmitted>(p);
  EXPECT_EQ(out.province, "京");
  EXPECT_EQ(out.websites[0].domains, (std::vector<std::string>{"zhangsan.cn", "www.zhangsan.cn"}));
}

TEST(FilingSubmittedValidation, NormalisesProvinceAlias) {
  auto f = first_filing();
  f.province = "蜀";
  Payload p = f;
  expect_ok(validate_payload(p));
  EXPECT_EQ(std::get<FilingSubmitted>(p).province, "川");
}

TEST(FilingSubmittedValidation, RefusesUnknownFilingType) {
  auto f = first_filing();
  f.filing_type = static_cast<FilingType>(42);
  expect_error(validate(f), "data.filing_type", "unknown filing_type");
}

TEST(FilingSubmittedValidation, RefusesUnknownProvince) {
  auto f = first_filing();
  f.province = "火星";
  expect_error(validate(f), "data.province", "unknown province");
  f.province = "";
  expect_error(validate(f), "data.province", "required");
}

TEST(FilingSubmittedValidation, RequiresProviderAndSubjectFields) {
  struct Case {
    std::string field;
    void (*clear)(FilingSubmitted&);
  };
  for (const auto& c : {
           Case{"provider", [](FilingSubmitted& f) { f.provider.clear(); }},
           Case{"subject.kind", [](FilingSubmitted& f) { f.subject.kind.clear(); }},
           Case{"subject.name", [](FilingSubmitted& f) { f.subject.name.clear(); }},
           Case{"subject.id_type", [](FilingSubmitted& f) { f.subject.id_type.clear(); }},
           Case{"subject.id_number", [](FilingSubmitted& f) { f.subject.id_number.clear(); }},
       }) {
    auto f = first_filing();
    c.clear(f);
    expect_error(validate(f), "data." + c.field, c.field + " is required");
  }
}

TEST(FilingSubmittedValidation, AddressIsOptional) {
  auto f = first_filing();
  f.subject.address.clear();
  expect_ok(validate(f));
}

TEST(FilingSubmittedValidation, ChecksSubjectResidentId) {
  auto f = first_filing();
  f.subject.id_number = "110101199003074515";
  expect_error(validate(f), "data.subject.id_number",
               "subject.id_number is not a valid GB 11643 resident ID (check digit)");
}

FilingSubmitted enterprise_filing(std::string uscc) {
  auto f = first_filing();
  f.subject = Subject{"enterprise", "北京百度网讯科技有限公司", "uscc", std::move(uscc), ""};
  return f;
}

// ---- SPEC §6.1: subject kinds, certificate types, USCC -----------------------------------

// Codes as published in the national enterprise credit register (Baidu, Tencent, Alibaba,
// Xiaomi): each one's last character is its GB 32100 check character.
TEST(Uscc, AcceptsPublishedCodes) {
  for (std::string_view code :
       {"91110000802100433B", "91440300708461136T", "91330100799655058B", "91110108551385082Q"}) {
    expect_ok(validate_uscc(code, "data.subject.id_number"));
    EXPECT_EQ(uscc_check_char(code.substr(0, 17)), code[17]) << code;
  }
}

TEST(Uscc, RefusesAWrongCheckCharacter) {
  for (std::string_view code : {"91110000802100433C", "91440300708461136X", "911100001000013428"})
    expect_error(validate_uscc(code, "f"), "f", "f is not a valid GB 32100 USCC (check character)");
}

TEST(Uscc, RefusesCharactersOutsideTheAlphabetAndOtherLengths) {
  // I, O, S, V and Z are not in the alphabet; nor are lower-case letters.
  for (std::string_view code :
       {"9111000080210043IB", "911100008021004O3B", "91110000802100S33B", "91110000802100433v"})
    expect_error(validate_uscc(code, "f"), "f", "outside 0-9 A-H J-N P-R T U W-Y");
  for (std::string_view code : {"", "91110000802100433", "91110000802100433BB"})
    expect_error(validate_uscc(code, "f"), "f", "must be 18 characters");
}

TEST(FilingSubmittedValidation, ChecksTheEnterpriseUscc) {
  expect_ok(validate(enterprise_filing("91110000802100433B")));
  expect_error(validate(enterprise_filing("91110000802100433A")), "data.subject.id_number",
               "check character");
}

TEST(FilingSubmittedValidation, RefusesAnUnknownSubjectKind) {
  auto f = first_filing();
  f.subject.kind = "martian";
  expect_error(validate(f), "data.subject.kind", "must be one of individual, enterprise");
  for (std::string kind : {"government", "public_institution", "social_organization", "other"}) {
    auto g = enterprise_filing("91110000802100433B");
    g.subject.kind = kind;
    expect_ok(validate(g));
  }
}

TEST(FilingSubmittedValidation, RefusesAnUnknownCertificateType) {
  auto f = first_filing();
  f.subject.id_type = "foo";
  expect_error(validate(f), "data.subject.id_type", "must be one of resident_id");
  f = first_filing();
  f.websites[0].responsible.id_type = "foo";
  expect_error(validate(f), "data.websites[0].responsible.id_type", "must be one of");
}

TEST(FilingSubmittedValidation, PairsCertificatesWithKinds) {
  auto f = first_filing();  // an individual with an organisation's certificate
  f.subject.id_type = "uscc";
  f.subject.id_number = "91110000802100433B";
  expect_error(validate(f), "data.subject.id_type", "an organisation's certificate");

  auto g = enterprise_filing("91110000802100433B");  // an enterprise with a person's
  g.subject.id_type = "passport";
  g.subject.id_number = "E12345678";
  expect_error(validate(g), "data.subject.id_type", "a personal certificate");

  auto h = enterprise_filing("91110000802100433B");  // a responsible person with an org's
  h.websites[0].responsible.id_type = "other_org";
  h.websites[0].responsible.id_number = "X-1";
  expect_error(validate(h), "data.websites[0].responsible.id_type", "an organisation's");
}

TEST(FilingSubmittedValidation, OtherCertificatesAreNotCheckedBeyondTheirType) {
  auto f = enterprise_filing("any-registration-1");
  f.subject.id_type = "other_org";
  f.websites[0].responsible.id_type = "passport";
  f.websites[0].responsible.id_number = "E12345678";
  expect_ok(validate(f));
}

TEST(FilingSubmittedValidation, LimitsShortTextLengths) {
  auto f = first_filing();
  f.provider = std::string(kMaxShortText, 'p');
  expect_ok(validate(f));
  f.provider.push_back('p');
  expect_error(validate(f), "data.provider", "too long");

  f = first_filing();
  f.subject.name = std::string(kMaxShortText + 1, 'n');
  expect_error(validate(f), "data.subject.name", "too long");

  f = first_filing();
  f.subject.kind = std::string(kMaxShortText + 1, 'k');
  expect_error(validate(f), "data.subject.kind", "too long");

  f = first_filing();
  f.websites[0].name = std::string(kMaxShortText + 1, 'w');
  expect_error(validate(f), "data.websites[0].name", "too long");

  f = first_filing();
  f.websites[0].responsible.name = std::string(kMaxShortText + 1, 'r');
  expect_error(validate(f), "data.websites[0].responsible.name", "too long");

  f = first_filing();
  f.websites[0].responsible.id_type = std::string(kMaxShortText + 1, 't');
  expect_error(validate(f), "data.websites[0].responsible.id_type", "too long");

  f = first_filing();
  f.websites[0].responsible.email = std::string(kMaxShortText, 'e') + "@x.cn";
  expect_error(validate(f), "data.websites[0].responsible.email", "too long");
}

TEST(FilingSubmittedValidation, LimitsAddressLength) {
  auto f = first_filing();
  f.subject.address = std::string(kMaxLongText, 'a');
  expect_ok(validate(f));
  f.subject.address.push_back('a');
  expect_error(validate(f), "data.subject.address", "too long");
}

// ---- filing_submitted: websites and domains ----------------------------------------------

TEST(FilingSubmittedValidation, RequiresAWebsite) {
  auto f = first_filing();
  f.websites.clear();
  expect_error(validate(f), "data.websites", "a filing needs at least one website");
}

TEST(FilingSubmittedValidation, LimitsWebsiteCount) {
  auto f = first_filing();
  f.websites.clear();
  for (std::size_t i = 0; i < kMaxWebsites; ++i) {
    f.websites.push_back(website("s" + std::to_string(i) + ".example.cn"));
  }
  expect_ok(validate(f));
  f.websites.push_back(website("one-more.example.cn"));
  expect_error(validate(f), "data.websites", "too many");
}

TEST(FilingSubmittedValidation, RequiresWebsiteName) {
  auto f = first_filing();
  f.websites.push_back(website("other.cn"));
  f.websites[1].name.clear();
  expect_error(validate(f), "data.websites[1].name", "required");
}

TEST(FilingSubmittedValidation, RequiresDomains) {
  auto f = first_filing();
  f.websites[0].domains.clear();
  expect_error(validate(f), "data.websites[0].domains", "needs a domain");
}

TEST(FilingSubmittedValidation, LimitsDomainCount) {
  auto f = first_filing();
  f.websites[0].domains.clear();
  for (std::size_t i = 0; i < kMaxDomainsPerWebsite; ++i) {
    f.websites[0].domains.push_back("d" + std::to_string(i) + ".zhangsan.cn");
  }
  expect_ok(validate(f));
  f.websites[0].domains.push_back("one-more.zhangsan.cn");
  expect_error(validate(f), "data.websites[0].domains", "too many");
}

TEST(FilingSubmittedValidation, NamesTheBadDomain) {
  auto f = first_filing();
  f.websites[0].domains[1] = "bad_domain.cn";
  expect_error(validate(f), "data.websites[0].domains[1]", "websites[0].domains[1]");
  f = first_filing();
  f.websites[0].domains[0] = "例子.cn";
  expect_error(validate(f), "data.websites[0].domains[0]", "punycode");
}

TEST(FilingSubmittedValidation, RefusesDuplicateDomainInAWebsite) {
  auto f = first_filing();
  f.websites[0].domains = {"zhangsan.cn", "ZHANGSAN.cn"};
  expect_error(validate(f), "data.websites[0].domains[1]", "more than once");
}

TEST(FilingSubmittedValidation, RefusesDuplicateDomainAcrossWebsites) {
  auto f = first_filing();
  f.websites.push_back(website("WWW.ZhangSan.cn"));
  expect_error(validate(f), "data.websites[1].domains[0]",
               "www.zhangsan.cn appears more than once");
}

// ---- filing_submitted: responsible person ------------------------------------------------

TEST(FilingSubmittedValidation, RequiresResponsibleName) {
  auto f = first_filing();
  f.websites[0].responsible.name.clear();
  expect_error(validate(f), "data.websites[0].responsible.name", "required");
}

TEST(FilingSubmittedValidation, ChecksResponsibleMobile) {
  auto f = first_filing();
  f.websites[0].responsible.mobile = "12800138000";
  expect_error(validate(f), "data.websites[0].responsible.mobile", "13 to 19");
  f.websites[0].responsible.mobile.clear();
  expect_error(validate(f), "data.websites[0].responsible.mobile", "required");
}

TEST(FilingSubmittedValidation, ChecksResponsibleResidentId) {
  auto f = first_filing();
  f.websites.push_back(website("other.cn"));
  f.websites[1].responsible.id_number = "11010519491231002x";
  expect_error(validate(f), "data.websites[1].responsible.id_number", "upper-case X");
}

TEST(FilingSubmittedValidation, ResponsibleIdIsOptionalButComesInPairs) {
  auto f = first_filing();
  f.websites[0].responsible.id_type.clear();
  f.websites[0].responsible.id_number.clear();
  expect_ok(validate(f));
  f.websites[0].responsible.id_number = "110101199003074514";
  expect_error(validate(f), "data.websites[0].responsible.id_type", "required");
  f.websites[0].responsible.id_number.clear();
  f.websites[0].responsible.id_type = "resident_id";
  expect_error(validate(f), "data.websites[0].responsible.id_number", "required");
}

TEST(FilingSubmittedValidation, EmailIsOptional) {
  auto f = first_filing();
  f.websites[0].responsible.email.clear();
  expect_ok(validate(f));
}

TEST(FilingSubmittedValidation, RefusesMalformedEmail) {
  for (std::string email : {"zs", "@zhangsan.cn", "zs@", "zs@@zhangsan.cn", "a@b@c.cn", "@"}) {
    auto f = first_filing();
    f.websites[0].responsible.email = email;
    expect_error(validate(f), "data.websites[0].responsible.email", "'@'");
  }
}

// ---- filing_submitted: record numbers ----------------------------------------------------

TEST(FilingSubmittedValidation, AcceptsAccessFilingsWithNumbers) {
  for (auto type :
       {FilingType::new_access, FilingType::continued_access, FilingType::change,
        FilingType::cancel_website, FilingType::cancel_subject, FilingType::cancel_access}) {
    expect_ok(validate(access_filing(type)));
  }
}

TEST(FilingSubmittedValidation, FirstFilingMustNotCarryANumber) {
  auto f = first_filing();
  f.existing_record_number = "京ICP备2024012345号";
  expect_error(validate(f), "data.existing_record_number", "must be empty for a first_filing");
}

TEST(FilingSubmittedValidation, OtherTypesRequireTheExistingNumber) {
  for (auto type : {FilingType::new_access, FilingType::continued_access, FilingType::add_website,
                    FilingType::change, FilingType::cancel_website, FilingType::cancel_subject,
                    FilingType::cancel_access}) {
    auto f = access_filing(type);
    f.existing_record_number.clear();
    expect_error(validate(f), "data.existing_record_number",
                 "is required for a " + std::string(to_string(type)));
  }
}

TEST(FilingSubmittedValidation, ExistingNumberMustParse) {
  auto f = access_filing(FilingType::change);
  f.existing_record_number = "京ICP备123号";
  expect_error(validate(f), "data.existing_record_number", "8 or 10 digits");
}

TEST(FilingSubmittedValidation, ExistingNumberMustBeASubjectNumber) {
  auto f = access_filing(FilingType::change);
  f.existing_record_number = "京ICP备2024012345号-1";
  expect_error(validate(f), "data.existing_record_number", "subject number");
}

TEST(FilingSubmittedValidation, ExistingNumberProvinceMustMatch) {
  auto f = access_filing(FilingType::change);
  f.existing_record_number = "沪ICP备2024012345号";
  f.websites[0].record_number = "沪ICP备2024012345号-1";
  expect_error(validate(f), "data.existing_record_number",
               "record number province 沪 does not match the filing's province 京");
}

TEST(FilingSubmittedValidation, ExistingNumberProvinceComparesCanonically) {
  auto f = access_filing(FilingType::new_access);
  f.province = "四川省";
  f.existing_record_number = "蜀ICP备2024012345号";
  f.websites[0].record_number = "川ICP备2024012345号-2";
  Payload p = f;
  expect_ok(validate_payload(p));
  // Numbers are kept exactly as issued.
  EXPECT_EQ(std::get<FilingSubmitted>(p).existing_record_number, "蜀ICP备2024012345号");
}

TEST(FilingSubmittedValidation, NewWebsiteTypesMustNotCarryWebsiteNumbers) {
  auto f = first_filing();
  f.websites[0].record_number = "京ICP备2024012345号-1";
  expect_error(validate(f), "data.websites[0].record_number", "the bureau issues the number");

  f = access_filing(FilingType::add_website);
  expect_error(validate(f), "data.websites[0].record_number", "must be empty for a add_website");
  f.websites[0].record_number.clear();
  expect_ok(validate(f));
}

TEST(FilingSubmittedValidation, AccessAndCancelWebsiteRequireWebsiteNumbers) {
  for (auto type :
       {FilingType::new_access, FilingType::continued_access, FilingType::cancel_website}) {
    auto f = access_filing(type);
    f.websites.push_back(website("other.cn"));
    expect_error(validate(f), "data.websites[1].record_number", "is required");
  }
}

TEST(FilingSubmittedValidation, ChangeAndCancelSubjectMayOmitWebsiteNumbers) {
  for (auto type : {FilingType::change, FilingType::cancel_subject, FilingType::cancel_access}) {
    auto f = access_filing(type);
    f.websites[0].record_number.clear();
    expect_ok(validate(f));
  }
}

TEST(FilingSubmittedValidation, WebsiteNumberMustParse) {
  auto f = access_filing(FilingType::new_access);
  f.websites[0].record_number = "京ICP备2024012345号-0";
  expect_error(validate(f), "data.websites[0].record_number", "suffix");
}

TEST(FilingSubmittedValidation, WebsiteNumberMustBeAWebsiteNumber) {
  auto f = access_filing(FilingType::new_access);
  f.websites[0].record_number = "京ICP备2024012345号";
  expect_error(validate(f), "data.websites[0].record_number", "must be a website number");
}

TEST(FilingSubmittedValidation, WebsiteNumberMustBelongToTheSubject) {
  auto f = access_filing(FilingType::continued_access);
  f.websites[0].record_number = "京ICP备2024099999号-1";
  expect_error(validate(f), "data.websites[0].record_number",
               "does not belong to the subject number 京ICP备2024012345号");
  f.websites[0].record_number = "沪ICP备2024012345号-1";
  expect_error(validate(f), "data.websites[0].record_number", "does not belong");
}

TEST(FilingSubmittedValidation, RefusesTheSameWebsiteNumberTwice) {
  auto f = access_filing(FilingType::new_access);
  f.websites.push_back(website("other.cn"));
  f.websites[1].record_number = f.websites[0].record_number;
  expect_error(validate(f), "data.websites[1].record_number", "two websites");
}

// ---- bureau_approved ---------------------------------------------------------------------

BureauApproved approval() {
  return BureauApproved{
      "京ICP备2026000123号",
      {{"zhangsan.cn", "京ICP备2026000123号-1"}, {"www.zhangsan.cn", "京ICP备2026000123号-1"}}};
}

TEST(BureauApprovedValidation, AcceptsTheSpecExample) { expect_ok(validate(approval())); }

TEST(BureauApprovedValidation, AcceptsAnEmptyApproval) { expect_ok(validate(BureauApproved{})); }

TEST(BureauApprovedValidation, WebsiteNumbersNeedNoSubjectNumber) {
  auto b = approval();
  b.subject_record_number.clear();
  expect_ok(validate(b));
}

TEST(BureauApprovedValidation, SubjectNumberMustBeASubjectNumber) {
  auto b = approval();
  b.subject_record_number = "京ICP备2026000123号-1";
  expect_error(validate(b), "data.subject_record_number", "subject number");
  b.subject_record_number = "京ICP备2026号";
  expect_error(validate(b), "data.subject_record_number", "8 or 10 digits");
}

TEST(BureauApprovedValidation, ChecksAndLowercasesDomains) {
  auto b = approval();
  b.websites[0].domain = "ZhangSan.CN";
  Payload p = b;
  expect_ok(validate_payload(p));
  EXPECT_EQ(std::get<BureauApproved>(p).websites[0].domain, "zhangsan.cn");

  b.websites[1].domain = "zhangsan";
  expect_error(validate(b), "data.websites[1].domain", "two labels");
}

TEST(BureauApprovedValidation, RefusesADomainTwice) {
  auto b = approval();
  b.websites[1].domain = "ZHANGSAN.cn";
  expect_error(validate(b), "data.websites[1].domain", "given twice");
}

TEST(BureauApprovedValidation, WebsiteNumbersAreRequiredAndChecked) {
  auto b = approval();
  b.websites[0].record_number.clear();
  expect_error(validate(b), "data.websites[0].record_number", "required");
  b.websites[0].record_number = "京ICP备2026000123号";
  expect_error(validate(b), "data.websites[0].record_number", "must be a website number");
  b.websites[0].record_number = "京ICP备2026000124号-1";
  expect_error(validate(b), "data.websites[0].record_number", "does not belong");
}

// ---- record_cancelled --------------------------------------------------------------------

TEST(RecordCancelledValidation, AcceptsSubjectAndWebsiteNumbers) {
  expect_ok(validate(RecordCancelled{"京ICP备2026000123号", "注销"}));
  expect_ok(validate(RecordCancelled{"京ICP备2026000123号-2", ""}));
}

TEST(RecordCancelledValidation, RequiresAWellFormedNumber) {
  expect_error(validate(RecordCancelled{"", "x"}), "data.record_number", "required");
  expect_error(validate(RecordCancelled{"京ICP备2026000123", "x"}), "data.record_number",
               "must look like");
}

TEST(RecordCancelledValidation, LimitsReason) {
  expect_error(validate(RecordCancelled{"京ICP备2026000123号", std::string(kMaxLongText + 1, 'r')}),
               "data.reason", "too long");
}

// ---- the other payloads: lengths only ----------------------------------------------------

template <class Decision>
void check_review_decision() {
  Decision d;
  d.reviewer = "rev-2";
  d.reason_code = "website_name";
  d.reason = std::string(kMaxLongText, 'r');
  expect_ok(validate(d));
  expect_ok(validate(Decision{}));

  auto long_reason = d;
  long_reason.reason.push_back('r');
  expect_error(validate(long_reason), "data.reason", "too long");
  auto long_reviewer = d;
  long_reviewer.reviewer = std::string(kMaxShortText + 1, 'v');
  expect_error(validate(long_reviewer), "data.reviewer", "too long");
  auto long_code = d;
  long_code.reason_code = std::string(kMaxShortText + 1, 'c');
  expect_error(validate(long_code), "data.reason_code", "too long");
}

TEST(OtherPayloadValidation, ReviewDecisions) {
  check_review_decision<InitialReviewApproved>();
  check_review_decision<InitialReviewRejected>();
}

template <class Decision>
void check_photo_decision() {
  Decision d;
  d.reviewer = "rev-2";
  d.method = PhotoMethod::sh_app;
  d.reason = std::string(kMaxLongText, 'r');
  expect_ok(validate(d));

  auto long_reason = d;
  long_reason.reason.push_back('r');
  expect_error(validate(long_reason), "data.reason", "too long");
  auto long_reviewer = d;
  long_reviewer.reviewer = std::string(kMaxShortText + 1, 'v');
  expect_error(validate(long_reviewer), "data.reviewer", "too long");
  auto bad_method = d;
  bad_method.method = static_cast<PhotoMethod>(9);
  expect_error(validate(bad_method), "data.method", "unknown photo method");
}

TEST(OtherPayloadValidation, PhotoDecisions) {
  check_photo_decision<PhotoApproved>();
  check_photo_decision<PhotoRejected>();
}

TEST(OtherPayloadValidation, SubmittedToBureauPolicyId) {
  expect_ok(validate(SubmittedToBureau{std::nullopt, "default-24h"}));
  expect_error(validate(SubmittedToBureau{std::nullopt, std::string(kMaxShortText + 1, 'p')}),
               "data.policy_id", "too long");
}

TEST(OtherPayloadValidation, SmsConfirmedPhoneIsFreeText) {
  expect_ok(validate(SmsConfirmed{"138****8000"}));
  expect_ok(validate(SmsConfirmed{""}));
  expect_error(validate(SmsConfirmed{std::string(kMaxShortText + 1, '1')}), "data.phone",
               "too long");
}

TEST(OtherPayloadValidation, BureauRejected) {
  expect_ok(validate(BureauRejected{"name", std::string(kMaxLongText, 'r')}));
  expect_error(validate(BureauRejected{std::string(kMaxShortText + 1, 'c'), ""}),
               "data.reason_code", "too long");
  expect_error(validate(BureauRejected{"", std::string(kMaxLongText + 1, 'r')}), "data.reason",
               "too long");
}

TEST(OtherPayloadValidation, FilingWithdrawn) {
  expect_ok(validate(FilingWithdrawn{"不再需要"}));
  expect_error(validate(FilingWithdrawn{std::string(kMaxLongText + 1, 'r')}), "data.reason",
               "too long");
}

TEST(OtherPayloadValidation, PayloadsWithoutTextAlwaysPass) {
  expect_ok(validate(SmsAttemptFailed{3}));
  expect_ok(validate(SmsExpired{Timestamp{1'700'000'000'000'000}}));
  expect_ok(validate(FilingAbandoned{}));
}

}  // namespace
}  // namespace filingd
