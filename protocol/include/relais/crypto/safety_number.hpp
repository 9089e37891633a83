#pragma once

#include <string>

#include "relais/crypto/bytes.hpp"

namespace relais::crypto {

/// One party's 30-digit half (Signal numeric fingerprint v0, 5200 SHA-512 iterations).
[[nodiscard]] std::string safety_number_half(const public_key& identity);

/// The 60-digit safety number of two identity keys, smaller half first, as 12 groups of 5
/// separated by spaces; the same on both sides.
[[nodiscard]] std::string safety_number(const public_key& a, const public_key& b);

}  // namespace relais::crypto
