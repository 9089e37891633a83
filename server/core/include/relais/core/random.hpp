#pragma once

#include "relais/crypto/random.hpp"

namespace relais::core {

/// The randomness source core decisions use (challenges, tokens, ids): relais_crypto's
/// injected source, so that production (crypto::system_random) and tests share one interface.
using random_source = crypto::random_source;

}  // namespace relais::core
