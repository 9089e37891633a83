#include "relais/net/static_files.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "relais/test/process.hpp"

namespace relais::net {
namespace {

class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(dir_.path()) / "web";
    std::filesystem::create_directories(root_ / "assets");
    std::filesystem::create_directories(root_ / "console");
    write(root_ / "index.html", "<h1>home</h1>");
    write(root_ / "console" / "index.html", "<h1>console</h1>");
    write(root_ / "assets" / "app-1a2B3c4D.js", "js");
    write(root_ / "assets" / "plain.js", "js");
    write(root_ / ".secret", "hidden");
    write(std::filesystem::path(dir_.path()) / "outside.txt", "outside");
    std::filesystem::create_symlink(std::filesystem::path(dir_.path()) / "outside.txt", root_ / "escape.txt");
  }
  static void write(const std::filesystem::path& p, const std::string& content) { std::ofstream(p) << content; }

  test::temp_dir dir_;
  std::filesystem::path root_;
};

TEST_F(StaticFiles, ServesIndexForRootAndDirectories) {
  auto r = resolve_static(root_, "/");
  ASSERT_EQ(r.error, target_error::none);
  EXPECT_EQ(r.path.filename(), "index.html");
  EXPECT_EQ(r.mime_type, "text/html; charset=utf-8");
  auto c = resolve_static(root_, "/console/");
  ASSERT_EQ(c.error, target_error::none);
  EXPECT_EQ(c.path.parent_path().filename(), "console");
  auto d = resolve_static(root_, "/console");
  ASSERT_EQ(d.error, target_error::none);
  EXPECT_EQ(d.path, c.path);
}

TEST_F(StaticFiles, IgnoresQueryString) {
  auto r = resolve_static(root_, "/index.html?lang=en#top");
  ASSERT_EQ(r.error, target_error::none);
  EXPECT_EQ(r.path.filename(), "index.html");
}

TEST_F(StaticFiles, MarksOnlyHashedAssetsImmutable) {
  auto hashed = resolve_static(root_, "/assets/app-1a2B3c4D.js");
  ASSERT_EQ(hashed.error, target_error::none);
  EXPECT_TRUE(hashed.immutable);
  EXPECT_EQ(hashed.mime_type, "text/javascript; charset=utf-8");
  auto plain = resolve_static(root_, "/assets/plain.js");
  ASSERT_EQ(plain.error, target_error::none);
  EXPECT_FALSE(plain.immutable);
  EXPECT_FALSE(resolve_static(root_, "/index.html").immutable);
}

TEST_F(StaticFiles, RefusesEverySpellingOfTraversal) {
  for (const char* target : {"/../outside.txt", "/assets/../../outside.txt", "/%2e%2e/outside.txt",
                             "/%2E%2E/outside.txt", "/.%2e/outside.txt", "/assets/..%2foutside.txt",
                             "/..%5coutside.txt", "/assets\\..\\..\\outside.txt", "/./index.html"}) {
    auto r = resolve_static(root_, target);
    EXPECT_NE(r.error, target_error::none) << target;
    EXPECT_TRUE(r.path.empty()) << target;
  }
}

TEST_F(StaticFiles, RefusesHiddenFilesAndSymlinksOutOfRoot) {
  EXPECT_EQ(resolve_static(root_, "/.secret").error, target_error::forbidden);
  EXPECT_EQ(resolve_static(root_, "/escape.txt").error, target_error::forbidden);
}

TEST_F(StaticFiles, RefusesMalformedTargets) {
  EXPECT_EQ(resolve_static(root_, "").error, target_error::malformed);
  EXPECT_EQ(resolve_static(root_, "index.html").error, target_error::malformed);
  EXPECT_EQ(resolve_static(root_, "http://example.org/").error, target_error::malformed);
  EXPECT_EQ(resolve_static(root_, "/%zz").error, target_error::malformed);
  EXPECT_EQ(resolve_static(root_, "/%2").error, target_error::malformed);
  EXPECT_EQ(resolve_static(root_, "/a%00b").error, target_error::malformed);
  EXPECT_EQ(resolve_static(root_, "/a%01b").error, target_error::malformed);
}

TEST_F(StaticFiles, MissingFileIsNotFound) {
  EXPECT_EQ(resolve_static(root_, "/nope.html").error, target_error::not_found);
  EXPECT_EQ(resolve_static(std::filesystem::path(dir_.path()) / "absent", "/").error, target_error::not_found);
}

TEST(MimeTypes, KnownAndUnknownExtensions) {
  EXPECT_EQ(mime_type_for("a.wasm"), "application/wasm");
  EXPECT_EQ(mime_type_for("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type_for("a.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type_for("a.unknown"), "application/octet-stream");
  EXPECT_EQ(mime_type_for("noext"), "application/octet-stream");
}

TEST(PercentDecode, DecodesAndRejectsSmuggledSeparators) {
  std::string out;
  ASSERT_TRUE(percent_decode_path("/caf%C3%A9", out));
  EXPECT_EQ(out, "/caf\xC3\xA9");
  EXPECT_FALSE(percent_decode_path("/a%2fb", out));
  EXPECT_FALSE(percent_decode_path("/a%5Cb", out));
  EXPECT_FALSE(percent_decode_path("/a%00", out));
  EXPECT_FALSE(percent_decode_path("/a%", out));
}

}  // namespace
}  // namespace relais::net
