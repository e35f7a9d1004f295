// The shared main() of every doctest suite binary (build/tests/<folder>).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
