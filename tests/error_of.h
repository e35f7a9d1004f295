// error_of(f): the message of the gradlab::Error that f throws, or "" when it
// throws none; the one helper the test suites use to check an error's text.
#pragma once

#include <functional>
#include <string>

#include "tensor/error.h"

namespace gradlab::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace gradlab::test
