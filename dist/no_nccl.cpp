// The NCCL backend's stand-in in a build without CUDA (communicator.h).
#include "dist/communicator.h"
#include "tensor/error.h"

namespace gradlab::dist {

std::unique_ptr<Communicator> make_nccl(double) {
  GL_CHECK(false, "dist: the nccl backend needs a CUDA build with NCCL (make CUDA=1); this gradlab was built without");
  return nullptr;
}
bool built_with_nccl() { return false; }

}  // namespace gradlab::dist
