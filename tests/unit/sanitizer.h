#pragma once
// Wall-time bounds in tests are speed targets for optimised builds. Under
// ASan + UBSan (CMakePresets.json preset `asan`, run by scripts/run_tests.sh)
// the same code runs several times slower, so speed assertions scale their
// bound by kSpeedFactor; every other check is unchanged.
namespace nnopt::test {

#if defined(__SANITIZE_ADDRESS__)
#define NNOPT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NNOPT_TEST_SANITIZED 1
#endif
#endif

#ifdef NNOPT_TEST_SANITIZED
inline constexpr double kSpeedFactor = 10.0;
#else
inline constexpr double kSpeedFactor = 1.0;
#endif

}  // namespace nnopt::test
