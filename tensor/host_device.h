// GL_HD marks small functions and functors that both the OpenMP kernels and the
// CUDA kernels call, so that each op has one definition of its arithmetic.
#pragma once

#ifdef __CUDACC__
#define GL_HD __host__ __device__ inline
#else
#define GL_HD inline
#endif
