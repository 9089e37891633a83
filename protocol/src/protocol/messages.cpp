#include "relais/protocol/messages.hpp"

#include <array>
#include <utility>

namespace relais::protocol {
namespace {

constexpr std::size_t message_count = std::variant_size_v<message>;

constexpr auto type_names = []<std::size_t... I>(std::index_sequence<I...>) {
  return std::array<std::string_view, message_count>{
      std::variant_alternative_t<I, message>::type...};
}(std::make_index_sequence<message_count>{});

}  // namespace

std::string_view type_name(const message& m) noexcept { return type_names[m.index()]; }

origin origin_of(const message& m) noexcept {
  return std::visit([](const auto& v) { return std::remove_cvref_t<decltype(v)>::from; }, m);
}

access access_of(const message& m) noexcept {
  return std::visit([](const auto& v) { return std::remove_cvref_t<decltype(v)>::when; }, m);
}

const std::optional<std::string>& rid_of(const message& m) noexcept {
  return std::visit([](const auto& v) -> const std::optional<std::string>& { return v.rid; }, m);
}

void set_rid(message& m, std::optional<std::string> rid) {
  std::visit([&](auto& v) { v.rid = std::move(rid); }, m);
}

std::span<const std::string_view> message_type_names() noexcept { return type_names; }

}  // namespace relais::protocol
