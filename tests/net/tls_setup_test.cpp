#include "relais/net/tls_setup.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <fstream>

#include "relais/test/process.hpp"

namespace relais::net {
namespace {

struct ctx_deleter {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_deleter>;

TEST(SelfSigned, CreatesOnceWithPrivateKeyMode0600) {
  test::temp_dir dir;
  certificate_files files;
  bool created = false;
  std::string error;
  ASSERT_TRUE(ensure_self_signed(std::filesystem::path(dir.path()) / "tls", "relais.local", files, created, error))
      << error;
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(files.private_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto fp = certificate_fingerprint_sha256(files.certificate);
  EXPECT_EQ(fp.size(), 32u * 3 - 1);

  certificate_files again;
  ASSERT_TRUE(ensure_self_signed(std::filesystem::path(dir.path()) / "tls", "relais.local", again, created, error));
  EXPECT_FALSE(created);
  EXPECT_EQ(certificate_fingerprint_sha256(again.certificate), fp);
}

TEST(SelfSigned, IsValidForAboutThirteenMonthsAndReplacedWhenExpiring) {
  test::temp_dir dir;
  certificate_files files;
  bool created = false;
  std::string error;
  ASSERT_TRUE(ensure_self_signed(dir.path(), "", files, created, error)) << error;
  EXPECT_FALSE(certificate_expires_within(files.certificate, 396L * 24 * 3600));
  EXPECT_TRUE(certificate_expires_within(files.certificate, 398L * 24 * 3600));
  EXPECT_TRUE(certificate_expires_within(std::filesystem::path(dir.path()) / "absent.pem", 0));
}

TEST(ServerContext, LoadsTheSelfSignedPairAndLimitsVersions) {
  test::temp_dir dir;
  certificate_files files;
  bool created = false;
  std::string error;
  ASSERT_TRUE(ensure_self_signed(dir.path(), "", files, created, error)) << error;
  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_TRUE(configure_server_context(ctx.get(), files, error)) << error;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), TLS1_3_VERSION);
  EXPECT_NE(SSL_CTX_get_options(ctx.get()) & SSL_OP_NO_COMPRESSION, 0u);
}

TEST(ServerContext, NamesTheUnreadableFile) {
  test::temp_dir dir;
  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  std::string error;
  certificate_files missing{std::filesystem::path(dir.path()) / "nope.pem", std::filesystem::path(dir.path()) / "k.pem"};
  EXPECT_FALSE(configure_server_context(ctx.get(), missing, error));
  EXPECT_NE(error.find("nope.pem"), std::string::npos) << error;

  auto garbage = std::filesystem::path(dir.path()) / "garbage.pem";
  std::ofstream(garbage) << "not a certificate";
  EXPECT_FALSE(configure_server_context(ctx.get(), {garbage, garbage}, error));
  EXPECT_NE(error.find("garbage.pem"), std::string::npos) << error;
}

TEST(ServerContext, RefusesAKeyThatDoesNotMatch) {
  test::temp_dir a;
  test::temp_dir b;
  certificate_files fa;
  certificate_files fb;
  bool created = false;
  std::string error;
  ASSERT_TRUE(ensure_self_signed(a.path(), "", fa, created, error));
  ASSERT_TRUE(ensure_self_signed(b.path(), "", fb, created, error));
  ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
  EXPECT_FALSE(configure_server_context(ctx.get(), {fa.certificate, fb.private_key}, error));
  EXPECT_NE(error.find(fb.private_key.string()), std::string::npos) << error;
}

}  // namespace
}  // namespace relais::net
