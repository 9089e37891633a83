#include "relais/auth/error.hpp"

namespace relais::auth {

namespace {

class auth_category_impl final : public std::error_category {
 public:
  [[nodiscard]] const char* name() const noexcept override { return "relais.auth"; }
  [[nodiscard]] std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_input: return "invalid input";
      case errc::too_short: return "too short";
      case errc::too_long: return "too long";
      case errc::hash_failed: return "password hashing failed (out of memory)";
    }
    return "unknown auth error";
  }
};

}  // namespace

const std::error_category& auth_category() noexcept {
  static const auth_category_impl instance;
  return instance;
}

std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), auth_category()}; }

}  // namespace relais::auth
