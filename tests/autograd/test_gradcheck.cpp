// Walks the op registry: every differentiable op must have at least one
// gradcheck spec, and every spec must pass (f64 central differences against
// a random cotangent). Also checks that gradcheck itself catches a wrong
// backward.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"

using namespace gradlab;

namespace {
// A deliberately wrong op for the test below. Declared here, at static
// initialisation like every library op, so that the registry is the same
// whatever order the test cases run in (declared inside a test case, it would
// join the registry only once that case had run). It has no spec on purpose.
GL_OP(kWrongSquare, "wrong_square_for_this_test");
}  // namespace

TEST_CASE("every differentiable op has a gradcheck spec") {
  std::set<const OpInfo*> covered;
  for (const GradcheckSpec& s : gradcheck_registry()) covered.insert(s.op);
  REQUIRE(op_registry().size() >= 40);
  for (const OpInfo* op : op_registry())
    if (op != &kWrongSquare)
      CHECK_MESSAGE(covered.count(op) == 1,
                    "op '" << std::string(op->name) << "' (" << std::string(op->file) << ") has no GL_GRADCHECK spec");
  std::set<std::string> names;
  for (const OpInfo* op : op_registry())
    CHECK_MESSAGE(names.insert(op->name).second, "op name '" << std::string(op->name) << "' is used twice");
}

TEST_CASE("every gradcheck spec passes") {
  for (const GradcheckSpec& s : gradcheck_registry()) {
    const GradcheckResult r = gradcheck(s.f, s.inputs, s.options);
    CHECK_MESSAGE(r.ok, std::string(s.op->name) << " [" << s.label << "]: " << r.message);
  }
}

TEST_CASE("gradcheck catches a wrong backward") {
  auto wrong = [](const Vars& x) {
    const Tensor v = x[0].value();
    return record(kWrongSquare, mul(v, v), {x[0]}, {v}, [](const GradContext& g) -> std::vector<Tensor> {
      return {mul(g.dout, g.saved[0])};  // should be 2 x dout
    });
  };
  const GradcheckResult r = gradcheck(wrong, {{{3}, 0.5, 1}});
  CHECK_FALSE(r.ok);
  CHECK(r.message.find("analytic") != std::string::npos);
  const GradcheckResult right = gradcheck([](const Vars& x) { return square(x[0]); }, {{{3}}});
  CHECK(right.ok);
}
