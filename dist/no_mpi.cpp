// The MPI backend's stand-in in a build without MPI (MPI=0, or no OpenMPI
// headers found): asking for it is a clear error (communicator.h).
#include "dist/communicator.h"
#include "tensor/error.h"

namespace gradlab::dist {

std::unique_ptr<Communicator> make_mpi(double) {
  GL_CHECK(false,
           "dist: this gradlab was built without MPI (install libopenmpi-dev and openmpi-bin, e.g. with make deps, "
           "then rebuild)");
  return nullptr;
}
bool built_with_mpi() { return false; }

}  // namespace gradlab::dist
