#include "events/record_number.hpp"

#include <gtest/gtest.h>

#include <string>

namespace filingd {
namespace {

void expect_invalid(std::string_view text, std::string_view message_part) {
  auto rn = parse_record_number(text, "existing_record_number");
  ASSERT_FALSE(rn.ok()) << text;
  EXPECT_EQ(rn.error().code, ErrorCode::invalid) << text;
  EXPECT_EQ(rn.error().field, "existing_record_number") << text;
  EXPECT_NE(rn.error().message.find(message_part), std::string::npos)
      << text << ": " << rn.error().message;
}

TEST(RecordNumber, ParsesSubjectNumber) {
  auto rn = parse_record_number("京ICP备2024012345号", "f");
  ASSERT_TRUE(rn.ok()) << rn.error().message;
  EXPECT_EQ(rn->text, "京ICP备2024012345号");
  EXPECT_EQ(rn->province, "京");
  EXPECT_EQ(rn->subject, "京ICP备2024012345号");
  EXPECT_EQ(rn->suffix, 0u);
  EXPECT_FALSE(rn->is_website());
}

TEST(RecordNumber, ParsesWebsiteNumber) {
  auto rn = parse_record_number("粤ICP备2024012345号-3", "f");
  ASSERT_TRUE(rn.ok()) << rn.error().message;
  EXPECT_EQ(rn->text, "粤ICP备2024012345号-3");
  EXPECT_EQ(rn->province, "粤");
  EXPECT_EQ(rn->subject, "粤ICP备2024012345号");
  EXPECT_EQ(rn->suffix, 3u);
  EXPECT_TRUE(rn->is_website());
}

TEST(RecordNumber, AcceptsEightDigitsAndLargestSuffix) {
  auto rn = parse_record_number("沪ICP备05087018号-9999", "f");
  ASSERT_TRUE(rn.ok()) << rn.error().message;
  EXPECT_EQ(rn->subject, "沪ICP备05087018号");
  EXPECT_EQ(rn->suffix, 9999u);
}

TEST(RecordNumber, AcceptsEveryProvinceAbbreviation) {
  for (std::string p : {"京", "津", "冀", "晋", "蒙", "辽", "吉", "黑", "沪", "苏", "浙",
                        "皖", "闽", "赣", "鲁", "豫", "鄂", "湘", "粤", "桂", "琼", "渝",
                        "川", "贵", "云", "藏", "陕", "甘", "青", "宁", "新"}) {
    auto rn = parse_record_number(p + "ICP备12345678号", "f");
    ASSERT_TRUE(rn.ok()) << p << ": " << rn.error().message;
    EXPECT_EQ(rn->province, p);
  }
}

TEST(RecordNumber, ResolvesAliasesButKeepsTextAsIssued) {
  struct Case {
    std::string alias, canonical;
  };
  for (const auto& c : {Case{"蜀", "川"}, Case{"黔", "贵"}, Case{"滇", "云"}, Case{"陇", "甘"}}) {
    auto text = c.alias + "ICP备2024000001号-1";
    auto rn = parse_record_number(text, "f");
    ASSERT_TRUE(rn.ok()) << text << ": " << rn.error().message;
    EXPECT_EQ(rn->province, c.canonical);
    EXPECT_EQ(rn->text, text);
    EXPECT_EQ(rn->subject, c.alias + "ICP备2024000001号");
  }
}

TEST(RecordNumber, RefusesEmpty) { expect_invalid("", "is required"); }

TEST(RecordNumber, RefusesWrongShape) {
  for (std::string_view bad :
       {"京ICP2024012345号", "京icp备2024012345号", "京ICP证2024012345号", "ICP备2024012345号x",
        "京ICP备2024012345", "京ICP备2024012345号号", "京ICP备2024012345号-3-4",
        "京ICP备2024012345号 ", " 京ICP备2024012345号", "京ICP备2024012345号京ICP备2024012345号"}) {
    auto rn = parse_record_number(bad, "existing_record_number");
    ASSERT_FALSE(rn.ok()) << bad;
    EXPECT_EQ(rn.error().field, "existing_record_number");
  }
  expect_invalid("京ICP备2024012345", "must look like 京ICP备2024012345号");
  expect_invalid("京ICP2024012345号", "must look like");
}

TEST(RecordNumber, RefusesUnknownOrMissingProvince) {
  expect_invalid("ICP备2024012345号", "province abbreviation");
  expect_invalid("火ICP备2024012345号", "province abbreviation");
  expect_invalid("AICP备2024012345号", "province abbreviation");
  // Full names are accepted for a filing's province, never inside a number.
  expect_invalid("北京ICP备2024012345号", "province abbreviation");
  expect_invalid("京京ICP备2024012345号", "province abbreviation");
}

TEST(RecordNumber, RefusesWrongDigitCount) {
  for (std::string_view bad : {"京ICP备1234567号", "京ICP备123456789号", "京ICP备12345678901号",
                               "京ICP备号", "京ICP备１２３４５６７８号", "京ICP备2024O12345号"}) {
    expect_invalid(bad, "8 or 10 digits");
  }
}

TEST(RecordNumber, RefusesBadSuffix) {
  for (std::string_view bad :
       {"京ICP备2024012345号-", "京ICP备2024012345号-0", "京ICP备2024012345号-03",
        "京ICP备2024012345号-10000", "京ICP备2024012345号-a", "京ICP备2024012345号-1a",
        "京ICP备2024012345号+1", "京ICP备2024012345号-+1", "京ICP备2024012345号--1"}) {
    expect_invalid(bad, "suffix");
  }
}

TEST(RecordNumber, RefusesOverlongInput) {
  expect_invalid("京ICP备2024012345号-1" + std::string(100, '1'), "suffix");
  expect_invalid("京ICP备" + std::string(100, '1') + "号", "8 or 10 digits");
}

TEST(RecordNumber, MessageNamesTheField) {
  auto rn = parse_record_number("bogus", "websites[2].record_number");
  ASSERT_FALSE(rn.ok());
  EXPECT_EQ(rn.error().field, "websites[2].record_number");
  EXPECT_EQ(rn.error().message.rfind("websites[2].record_number ", 0), 0u) << rn.error().message;
}

}  // namespace
}  // namespace filingd
