// Grades matmul: hand-worked products, operands given as transposed (strided)
// views, a clear error for mismatched shapes, and agreement with the library
// on odd sizes.
#include "exercises/grader.h"
#include "exercises/matmul/exercise.h"
#include "tensor/error.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace gradlab;
using namespace gradlab::exercise;

const ExerciseInfo kExercise{"matmul", "C = A B by loops, through strides"};

void grade(Grader& g) {
  g.check("hand-worked: [2, 3] @ [3, 2]", [] {
    // [[1, 2, 3], [4, 5, 6]] @ [[1, 0], [0, 1], [1, -1]] = [[1 + 3, 2 - 3], [4 + 6, 5 - 6]]
    const Tensor c = exercise::matmul(f64({1, 2, 3, 4, 5, 6}, {2, 3}), f64({1, 0, 0, 1, 1, -1}, {3, 2}));
    expect_close(c, f64({4, -1, 10, -1}, {2, 2}), "C");
  });
  g.check("hand-worked: a row times a column, and a column times a row", [] {
    expect_close(exercise::matmul(f64({1, 2, 3}, {1, 3}), f64({4, 5, 6}, {3, 1})), f64({32}, {1, 1}), "[1, 3] @ [3, 1]");
    expect_close(exercise::matmul(f64({1, 2}, {2, 1}), f64({3, 4, 5}, {1, 3})), f64({3, 4, 5, 6, 8, 10}, {2, 3}),
                 "[2, 1] @ [1, 3]");
  });
  g.check("operands as transposed views (strides, not a copy)", [] {
    // a.mT() is the transpose of a with its strides swapped: element [i, k] sits at k * 2 + i.
    const Tensor a = f64({1, 4, 2, 5, 3, 6}, {3, 2}).mT();  // [[1, 2, 3], [4, 5, 6]] as a view
    const Tensor b = f64({1, 0, 1, 0, 1, -1}, {2, 3}).mT();  // [[1, 0], [0, 1], [1, -1]] as a view
    expect(!a.is_contiguous() && !b.is_contiguous(), "the grader's views should be strided");
    expect_close(exercise::matmul(a, b), f64({4, -1, 10, -1}, {2, 2}), "C from views");
  });
  g.check("mismatched inner sizes raise gradlab::Error", [] {
    bool raised = false;
    try {
      exercise::matmul(f64({1, 2, 3, 4, 5, 6}, {2, 3}), f64({1, 2, 3, 4}, {2, 2}));
    } catch (const Error&) {
      raised = true;
    }
    expect(raised, "[2, 3] @ [2, 2] returned a value; it should throw gradlab::Error (GL_CHECK) naming the shapes");
  });
  g.check("agrees with the library on [37, 19] @ [19, 23]", [] {
    Generator gen(1);
    const Tensor a = randn({37, 19}, gen, DType::f64), b = randn({19, 23}, gen, DType::f64);
    expect_close(exercise::matmul(a, b), gradlab::matmul(a, b), "C", 1e-12, 1e-10);
  });
}
