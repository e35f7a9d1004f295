// gradlab::CudaGraph: records the kernels that one step of work launches on the
// GPU (a CUDA graph) and replays them with one launch, which saves the host's
// per-kernel launch cost where a step is many small kernels.
//
//   CudaGraph g;
//   step();                  // once eagerly: the caching allocator now holds every block a step needs
//   g.capture([&] { step(); });   // records, runs nothing
//   for (...) g.replay();         // runs the recorded kernels on the usual stream
//
// What a recorded step may do: launch gradlab's CUDA kernels and cuBLAS calls
// and take device memory from the caching allocator's cache. What it may not:
// read a value back to the host (Tensor::item, to(Device::cpu), reading the
// deferred index checks with check_pending_errors or GRADLAB_CUDA_SYNC=1), wait for
// the GPU, or ask CUDA for new memory (cudaMalloc); each of these makes
// capture() throw a gradlab::Error naming the call, and the graph stays empty.
// (A block the cache hands back to CUDA during capture is freed only when the
// graph is destroyed.) Host values in kernel arguments (a learning rate, Adam's step count)
// are frozen at capture: every replay repeats them.
//
// Memory: the addresses the step used are baked into the graph. Tensors that
// live across steps (parameters, gradients, optimiser state, inputs rewritten
// in place) keep theirs; the step's temporaries were returned to the cache at
// the end of capture, and every replay writes them again. So between replays,
// do not create GPU tensors that must survive the next replay, and do not
// empty the CUDA cache while a graph exists.
//
// The CUDA build implements it in tensor/cuda/graph.cpp; a build without CUDA
// (tensor/cuda/no_cuda.cpp) throws "built without CUDA" from capture and replay.
#pragma once

#include <functional>
#include <memory>

namespace gradlab {

class CudaGraph {
 public:
  CudaGraph();
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Records the kernels step() launches, replacing any earlier recording.
  void capture(const std::function<void()>& step);
  // Launches the recorded kernels, after all work queued before it.
  void replay();
  bool captured() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gradlab
