# relais_options: language standard, sanitizers and hardening for every first-party target.
# relais_warnings: the warning set, one comment per flag.
# Every first-party target links both PRIVATE; nothing here touches global flags.

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

find_program(RELAIS_CCACHE ccache)
if(RELAIS_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER "${RELAIS_CCACHE}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${RELAIS_CCACHE}")
endif()

set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

add_library(relais_options INTERFACE)
target_compile_features(relais_options INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)  # -std=c++20, not gnu++20
target_compile_options(relais_options INTERFACE
  # Hardening: stack protector, fortified libc calls (needs optimisation), PIE.
  -fstack-protector-strong
  $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>
  -fPIE)
target_link_options(relais_options INTERFACE -pie -Wl,-z,relro,-z,now)

if(RELAIS_ENABLE_ASAN)
  target_compile_options(relais_options INTERFACE -fsanitize=address -fno-omit-frame-pointer)
  target_link_options(relais_options INTERFACE -fsanitize=address)
endif()
if(RELAIS_ENABLE_UBSAN)
  target_compile_options(relais_options INTERFACE -fsanitize=undefined -fno-sanitize-recover=undefined)
  target_link_options(relais_options INTERFACE -fsanitize=undefined)
endif()

add_library(relais_warnings INTERFACE)
target_compile_options(relais_warnings INTERFACE
  -Wall                 # the usual set
  -Wextra               # and the less usual
  -Wpedantic            # no compiler extensions
  -Wshadow              # a local hiding another name is a bug waiting
  -Wnon-virtual-dtor    # polymorphic deletion through a base must be safe
  -Wold-style-cast      # casts must say which kind they are
  -Wcast-align          # misaligned access on stricter platforms
  -Wunused              # dead code
  -Woverloaded-virtual  # hiding a virtual by accident
  -Wconversion          # silent narrowing of sizes and lengths in parsers
  -Wsign-conversion     # signed/unsigned mixing in lengths
  -Wdouble-promotion    # float silently widened
  # (-Wnull-dereference is left out: GCC 12 reports false positives inside inlined Asio and
  # libstdc++ code at -O2.)
  -Wformat=2            # printf-style format checks
  -Wimplicit-fallthrough # a switch case must say it falls through
  $<$<CXX_COMPILER_ID:GNU>:-Wmisleading-indentation> # indentation that lies about scope
  $<$<CXX_COMPILER_ID:GNU>:-Wduplicated-cond>        # the same condition twice in an if chain
  $<$<CXX_COMPILER_ID:GNU>:-Wlogical-op>             # suspicious logical operators
  $<$<BOOL:${RELAIS_WARNINGS_AS_ERRORS}>:-Werror>)
