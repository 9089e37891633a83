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

TEST(OriginPolicy, ConfiguredListIsExactAndKeepsTheServersOwnOrigin) {
  std::vector<std::string> allowed{"https://association.example", "https://www.association.example"};
  EXPECT_TRUE(origin_allowed("https://association.example", "relais.example.org", allowed));
  // The widget's iframe and the console are pages of relaisd itself.
  EXPECT_TRUE(origin_allowed("https://relais.example.org", "relais.example.org", allowed));
  EXPECT_FALSE(origin_allowed("https://association.example:444", "relais.example.org", allowed));
  EXPECT_FALSE(origin_allowed("https://evil.example", "relais.example.org", allowed));
  EXPECT_FALSE(origin_allowed("https://evil.example", "", allowed));
}

TEST(SecurityHeaders, WidgetPagesMayBeFramedOnlyByTheAllowedOrigins) {
  std::vector<std::string> allowed{"https://association.example", "https://www.association.example:8443"};
  for (std::string_view path : {"/widget/", "/widget/index.html"}) {
    auto h = as_map(security_headers(cache_policy::no_store, 0, path, allowed));
    EXPECT_NE(h.at("Content-Security-Policy")
                  .find("frame-ancestors 'self' https://association.example https://www.association.example:8443"),
              std::string::npos)
        << path;
    EXPECT_EQ(h.count("X-Frame-Options"), 0u) << path;
    EXPECT_EQ(h.at("Cache-Control"), "no-store");
    EXPECT_EQ(h.at("Cross-Origin-Resource-Policy"), "same-origin");
    EXPECT_EQ(h.count("Access-Control-Allow-Origin"), 0u);
  }
  // With no list, only relaisd itself may frame them.
  auto own = as_map(security_headers(cache_policy::no_store, 0, "/widget/", {}));
  EXPECT_NE(own.at("Content-Security-Policy").find("frame-ancestors 'self'"), std::string::npos);
}

TEST(SecurityHeaders, EverythingElseStaysUnframeable) {
  std::vector<std::string> allowed{"https://association.example"};
  for (std::string_view path : {"/", "/index.html", "/console/", "/console/index.html", "/widget/sub/x.html",
                                "/widget/app.js", "/widgets/index.html", "/assets/index-abcdefgh.js", ""}) {
    auto h = as_map(security_headers(cache_policy::no_store, 0, path, allowed));
    EXPECT_NE(h.at("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos) << path;
    EXPECT_EQ(h.at("X-Frame-Options"), "DENY") << path;
    EXPECT_EQ(h.at("Cross-Origin-Resource-Policy"), "same-origin") << path;
  }
}

TEST(SecurityHeaders, OriginsThatCouldInjectPolicyAreLeftOut) {
  std::vector<std::string> allowed{"https://ok.example", "https://a.example; script-src *", "https://b.example/path",
                                   "javascript:alert(1)", "https://'self'", "https://", "https://c.example:",
                                   "https://d.example:123456", "*"};
  auto h = as_map(security_headers(cache_policy::no_store, 0, "/widget/", allowed));
  const auto& policy = h.at("Content-Security-Policy");
  EXPECT_TRUE(policy.ends_with("frame-ancestors 'self' https://ok.example")) << policy;
}

TEST(SecurityHeaders, LoaderScriptsMayBeLoadedCrossOriginWithIntegrity) {
  for (std::string_view path : {"/widget/loader.js", "/assets/loader-Bc9_x-1Q.js"}) {
    auto h = as_map(security_headers(cache_policy::no_store, 0, path, {}));
    EXPECT_EQ(h.at("Cross-Origin-Resource-Policy"), "cross-origin") << path;
    EXPECT_EQ(h.at("Access-Control-Allow-Origin"), "*") << path;
    EXPECT_EQ(h.at("X-Frame-Options"), "DENY") << path;
  }
  for (std::string_view path : {"/widget/loader.js.map", "/assets/app-loader-abcdefgh.js", "/assets/x/loader-a.js"}) {
    auto h = as_map(security_headers(cache_policy::no_store, 0, path, {}));
    EXPECT_EQ(h.at("Cross-Origin-Resource-Policy"), "same-origin") << path;
    EXPECT_EQ(h.count("Access-Control-Allow-Origin"), 0u) << path;
  }
}

}  // namespace
}  // namespace relais::net
