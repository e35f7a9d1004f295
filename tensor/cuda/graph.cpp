// CudaGraph in a CUDA build (tensor/cuda/graph.h): capture on a private
// non-blocking stream that stream() (tensor/cuda/check.h) returns while the
// step runs, so that every gradlab kernel and cuBLAS call of the step is
// recorded there; instantiate; replay on the legacy default stream, where it
// is ordered with everything else gradlab queues. The runtime
// (tensor/cuda/runtime.cpp) refuses host copies, synchronisation and raw
// allocation while capturing(), with an error that says so.
#include "tensor/cuda/graph.h"

#include <cuda_runtime.h>

#include <string>

#include "tensor/cuda/check.h"
#include "tensor/cuda/error_slot.h"
#include "tensor/device.h"
#include "tensor/error.h"

namespace gradlab {

namespace cuda {
cudaStream_t g_capture_stream = nullptr;
}

struct CudaGraph::Impl {
  cudaStream_t stream = nullptr;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  std::vector<void*> held;  // blocks released during capture (see cuda_free)

  void drop() {  // no throwing: also called from the destructor
    if (exec != nullptr) {
      cudaStreamSynchronize(nullptr);  // a replay may still be running
      cudaGraphExecDestroy(exec);
    }
    if (graph != nullptr) cudaGraphDestroy(graph);
    for (void* p : held) cudaFree(p);
    exec = nullptr;
    graph = nullptr;
    held.clear();
  }
};

CudaGraph::CudaGraph() : impl_(std::make_unique<Impl>()) {}

CudaGraph::~CudaGraph() {
  impl_->drop();
  if (impl_->stream != nullptr) cudaStreamDestroy(impl_->stream);
}

bool CudaGraph::captured() const { return impl_->exec != nullptr; }

void CudaGraph::capture(const std::function<void()>& step) {
  GL_CHECK(cuda_available(), "CudaGraph::capture: no GPU is present");
  GL_CHECK(!cuda::capturing(), "CudaGraph::capture: another capture is under way (captures do not nest)");
  impl_->drop();
  if (impl_->stream == nullptr) GL_CUDA_CHECK(cudaStreamCreateWithFlags(&impl_->stream, cudaStreamNonBlocking));
  // What a capture may not do itself: create the cuBLAS handle (and its
  // workspace) and the error slot, and leave earlier work unfinished.
  cuda::cublas_handle();
  cuda::prepare_error_slot();
  GL_CUDA_CHECK(cudaDeviceSynchronize());
  GL_CUDA_CHECK(cudaStreamBeginCapture(impl_->stream, cudaStreamCaptureModeThreadLocal));
  cuda::g_capture_stream = impl_->stream;
  std::string failure;
  try {
    step();
  } catch (const std::exception& e) {
    failure = e.what();
  }
  cuda::g_capture_stream = nullptr;
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(impl_->stream, &graph);
  impl_->held.swap(cuda::g_frees_after_capture);
  cuda::g_frees_after_capture.clear();
  if (!failure.empty() || ended != cudaSuccess) {
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();  // an invalidated capture leaves a (non-sticky) error behind
    impl_->drop();
    fail("CudaGraph::capture: the step could not be recorded: {}",
         failure.empty() ? std::string(cudaGetErrorString(ended)) : failure);
  }
  impl_->graph = graph;
  GL_CUDA_CHECK(cudaGraphInstantiate(&impl_->exec, graph, 0));
}

void CudaGraph::replay() {
  GL_CHECK(impl_->exec != nullptr, "CudaGraph::replay: nothing captured (call capture first, or it failed)");
  GL_CHECK(!cuda::capturing(), "CudaGraph::replay: cannot replay a graph while another capture is under way");
  GL_CUDA_CHECK(cudaGraphLaunch(impl_->exec, nullptr));
}

}  // namespace gradlab
