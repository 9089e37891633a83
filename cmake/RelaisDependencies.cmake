# Third-party dependencies, all from Debian 12 packages (scripts/install-deps.sh installs them).
# Their headers are SYSTEM includes so that our warning set does not apply to them.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tomlplusplus 3 REQUIRED)
find_package(CLI11 2 REQUIRED)
find_package(SQLite3 REQUIRED)
# Boost 1.81 (libboost1.81-dev): Beast and Asio are header-only there; compiled once in
# relais_asio (server/net/asio_impl.cpp) in their separate-compilation mode.
find_package(Boost 1.81 REQUIRED CONFIG)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
# cctz (libcctz-dev): time zones from the system's tzdata (/usr/share/zoneinfo), for the
# permanence schedule's local times across daylight-saving changes. GCC 12's <chrono> has no
# tzdb, and hand-parsing TZif files is exactly the code a well-kept library saves us.
find_path(CCTZ_INCLUDE_DIR cctz/time_zone.h REQUIRED)
find_library(CCTZ_LIBRARY cctz REQUIRED)
add_library(cctz::cctz UNKNOWN IMPORTED)
set_target_properties(cctz::cctz PROPERTIES IMPORTED_LOCATION "${CCTZ_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CCTZ_INCLUDE_DIR}")

if(RELAIS_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(RELAIS_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Mark imported targets' include directories SYSTEM (CMake does this for IMPORTED targets).
