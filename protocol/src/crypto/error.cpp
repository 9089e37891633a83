#include "relais/crypto/error.hpp"

namespace relais::crypto {
namespace {

class category final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "relais.crypto"; }
  [[nodiscard]] std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::malformed_input: return "malformed input";
      case errc::unsupported_version: return "unsupported version";
      case errc::wrong_message_type: return "wrong message type";
      case errc::authentication_failed: return "authentication failed";
      case errc::invalid_public_key: return "invalid public key";
      case errc::duplicate_message: return "duplicate message";
      case errc::too_many_skipped: return "too many skipped messages";
      case errc::no_sending_chain: return "no sending chain yet";
      case errc::unknown_prekey: return "unknown prekey";
      case errc::untrusted_org_key: return "untrusted organisation key";
      case errc::certificate_not_valid_now: return "certificate not valid now";
      case errc::bad_code: return "bad code";
      case errc::resource_exhausted: return "resource exhausted";
    }
    return "unknown relais.crypto error";
  }
};

}  // namespace

const std::error_category& crypto_category() noexcept {
  static const category instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), crypto_category()}; }

}  // namespace relais::crypto
