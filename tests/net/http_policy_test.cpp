#include "relais/net/http_policy.hpp"

#include <gtest/gtest.h>

#include <map>

namespace relais::net {
namespace {

std::map<std::string, std::string> as_map(const std::vector<std::pair<std::string_view, std::string>>& h) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : h) m.emplace(std::string(k), v);
  return m;
}

TEST(SecurityHeaders, EveryResponseCarriesTheStrictSet) {
  auto h = as_map(security_headers(cache_policy::no_store, 63'072'000));
  EXPECT_EQ(h.at("Strict-Transport-Security"), "max-age=63072000");
  EXPECT_EQ(h.at("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(h.at("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(h.at("Cache-Control"), "no-store");
  const auto& csp = h.at("Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("object-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("'unsafe-eval'"), std::string::npos);
}

TEST(SecurityHeaders, HashedAssetsAreImmutableAndHstsCanBeOff) {
  auto h = as_map(security_headers(cache_policy::immutable, 0));
  EXPECT_EQ(h.at("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(h.count("Strict-Transport-Security"), 0u);
}

TEST(OriginPolicy, NonBrowserClientsWithoutOriginAreAllowed) {
  EXPECT_TRUE(origin_allowed("", "relais.example.org", {}));
}

TEST(OriginPolicy, DefaultAllowsOnlyTheServersOwnOrigin) {
  EXPECT_TRUE(origin_allowed("https://relais.example.org", "relais.example.org", {}));
  EXPECT_TRUE(origin_allowed("https://127.0.0.1:8443", "127.0.0.1:8443", {}));
  EXPECT_FALSE(origin_allowed("https://evil.example", "relais.example.org", {}));
  EXPECT_FALSE(origin_allowed("http://relais.example.org", "relais.example.org", {}));
  EXPECT_FALSE(origin_allowed("https://relais.example.org.evil", "relais.example.org", {}));
  EXPECT_FALSE(origin_allowed("https://x", "", {}));
}

TEST(OriginPolicy, ConfiguredListIsExact) {
  std::vector<std::string> allowed{"https://association.example", "https://www.association.example"};
  EXPECT_TRUE(origin_allowed("https://association.example", "relais.example.org", allowed));
  EXPECT_FALSE(origin_allowed("https://relais.example.org", "relais.example.org", allowed));
  EXPECT_FALSE(origin_allowed("https://association.example:444", "relais.example.org", allowed));
}

}  // namespace
}  // namespace relais::net
