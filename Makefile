# gradlab build. `make` builds the library and every binary into build/;
# `make test` runs the doctest suites and each bench binary's --smoke run;
# `make bench` builds build/bench/*; `make reproduce` runs the experiments;
# `make install PREFIX=...` installs the headers, the library and gradlab.pc;
# `make examples` builds examples/ into build/examples/; `make exercise NAME=...`
# grades an exercise (exercises/README.md).
# Every core is used unless -jN says otherwise.
#   ARCH=native     -march value (e.g. ARCH=x86-64-v3 for a portable AVX2 build)
#   CUDA=auto       build the CUDA backend when nvcc and a GPU are present; CUDA=0 off,
#                   CUDA=1 required (with no GPU: a compile-and-link check for one architecture)
#   CUDA_ARCHS=     GPU architectures for nvcc (default: the present GPU's, else 80)
#   SANITIZE=1      AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
#   TEST_ORDER=rand run each suite's cases in a random order (TEST_SEED=N picks it)
#   TEST_TIMEOUT=900  seconds one suite may run before it counts as failed
#   SUITES="tensor nn"  run only these suites (make test)

ARCH ?= native
CUDA ?= auto
SANITIZE ?= 0
CUDA_HOME ?= /usr/local/cuda
CXX ?= g++

# Parallel by default: one job per core, unless the command line gave -j.
ifeq ($(filter -j%,$(MAKEFLAGS)),)
  MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
PYTHON ?= /usr/bin/python3

ifeq ($(SANITIZE),1)
  BUILD ?= build-sanitize
  # -g1 (line tables) is all the sanitizers' stack traces need, and compiles
  # about 30% faster than -g.
  # GCC fuses a*b+c only from -O2 on, so the scalar math rounds differently
  # here: GRADLAB_UNFUSED_BUILD keeps the kernels off the AVX-512 forms that
  # fuse as -O3 does (tensor/cpu/exp_avx512.h).
  OPT := -O1 -g1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
         -DGRADLAB_UNFUSED_BUILD
  SAN_LD := -fsanitize=address,undefined
  # Learning tests (whole training runs, named "... [slow]") take minutes at
  # -O1 under the sanitizers; they run in the optimised build only.
  TEST_ARGS ?= '--test-case-exclude=*[slow]*'
else
  BUILD ?= build
  OPT := -O3 -g1
  SAN_LD :=
endif

# -ffp-contract=fast lets the compiler fuse a*b+c into FMAs (GCC's default
# outside ISO mode); -fno-math-errno lets it vectorise sqrt; -fno-trapping-math
# (we never unmask FP exceptions) lets it turn the selects of branch-free math
# into vector blends. None of them changes IEEE results the way -ffast-math does.
# -Wno-psabi: below AVX-512 (ARCH=x86-64-v3), GCC notes that the 64-byte
# vectors of tensor/cpu/row_reduce.h would be returned by another ABI; they
# live inside one translation unit, so no ABI boundary is ever crossed.
CXXFLAGS += -std=c++20 $(OPT) -march=$(ARCH) -fopenmp -ffp-contract=fast -fno-math-errno -fno-trapping-math \
            -Wall -Wextra -Wno-psabi -I. -MMD -MP
# gold links gradlab's binaries about twice as fast as the default ld (binutils has both).
FAST_LD := $(shell ld.gold --version >/dev/null 2>&1 && echo -fuse-ld=gold)
LDFLAGS += -fopenmp $(FAST_LD) $(SAN_LD)
LDLIBS += -lfmt

# ---- CUDA: auto-detect nvcc and a GPU ----
NVCC := $(shell command -v nvcc 2>/dev/null || (test -x $(CUDA_HOME)/bin/nvcc && echo $(CUDA_HOME)/bin/nvcc))
# The present GPU's compute capability ("90" for 9.0), empty without one.
GPU_ARCH := $(shell nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')
ifeq ($(CUDA),auto)
  # Without a GPU nothing could run the kernels, so auto leaves them out.
  WITH_CUDA := $(if $(and $(NVCC),$(GPU_ARCH)),1,0)
else
  WITH_CUDA := $(CUDA)
endif
CUDA_ARCHS ?= $(if $(GPU_ARCH),$(GPU_ARCH),80)
# Only tensor/cuda/ sees CUDA: its host code (.cpp, g++) and kernels (.cu,
# nvcc) are compiled with their own flags, so turning CUDA on or off rebuilds
# those few files and relinks, never the rest of the library.
ifeq ($(WITH_CUDA),1)
  ifeq ($(NVCC),)
    $(error CUDA=1 but nvcc was not found (looked on PATH and in $(CUDA_HOME)/bin))
  endif
  CUDA_CPP_SRCS := $(filter-out tensor/cuda/no_cuda.cpp,$(wildcard tensor/cuda/*.cpp))
  CUDA_SRCS := $(wildcard tensor/cuda/*.cu)
  CUDA_CXXFLAGS := -I$(CUDA_HOME)/include -DGRADLAB_CUDA=1
  # fmt's compile-time format checks do not compile under nvcc: .cu files check
  # their format strings at run time instead (FMT_CONSTEVAL empty), and host
  # constexpr helpers (numeric_limits) are callable from the shared GL_HD functors.
  NVCCFLAGS := -std=c++20 -O3 -I. $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) \
               -Xcompiler -fopenmp,-Wall -MMD -MP -DGRADLAB_CUDA=1 --expt-relaxed-constexpr \
               -DFMT_CONSTEVAL= -DFMT_USE_CONSTEXPR=1 -diag-suppress 20208
  LDFLAGS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64
  LDLIBS += -lcublas -lcudart
else
  CUDA_CPP_SRCS := tensor/cuda/no_cuda.cpp
  CUDA_SRCS :=
  CUDA_CXXFLAGS :=
endif

# ---- MPI: dist/'s backend for several processes (OpenMPI from Debian) ----
#   MPI=auto  built when OpenMPI's headers are found (make deps installs them); MPI=0 off
MPI ?= auto
MPI_CFLAGS := $(shell pkg-config --cflags ompi 2>/dev/null)
MPI_LIBS := $(shell pkg-config --libs ompi 2>/dev/null)
ifeq ($(MPI),auto)
  WITH_MPI := $(if $(strip $(MPI_LIBS)),1,0)
else
  WITH_MPI := $(MPI)
endif
ifeq ($(WITH_MPI),1)
  ifeq ($(strip $(MPI_LIBS)),)
    $(error MPI=1 but OpenMPI was not found by pkg-config (install libopenmpi-dev: make deps))
  endif
  DIST_BACKEND_SRCS := dist/mpi.cpp
  LDLIBS += $(MPI_LIBS)
else
  DIST_BACKEND_SRCS := dist/no_mpi.cpp
endif
# NCCL (GPU collectives) comes with the CUDA toolkit: built with the CUDA backend.
ifeq ($(WITH_CUDA),1)
  DIST_BACKEND_SRCS += $(if $(filter 1,$(WITH_MPI)),dist/nccl.cpp,dist/no_nccl.cpp)
  LDLIBS += $(if $(filter 1,$(WITH_MPI)),-lnccl)
else
  DIST_BACKEND_SRCS += dist/no_nccl.cpp
endif

# ---- sources ----
# Every folder of library code; a folder that does not exist yet adds nothing.
LIB_DIRS := tensor tensor/cpu tensor/ref autograd nn optim envs envs/preference algorithms/rl algorithms/rl/curiosity \
            algorithms/rl/offline algorithms/alignment algorithms/influence dist
DIST_ALL_BACKENDS := dist/mpi.cpp dist/no_mpi.cpp dist/nccl.cpp dist/no_nccl.cpp
LIB_SRCS := $(filter-out $(DIST_ALL_BACKENDS),$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cpp))) \
            $(if $(filter dist,$(LIB_DIRS)),$(DIST_BACKEND_SRCS))
CUDA_CPP_OBJS := $(CUDA_CPP_SRCS:%.cpp=$(BUILD)/obj/%.o)
LIB_OBJS := $(LIB_SRCS:%.cpp=$(BUILD)/obj/%.o) $(CUDA_CPP_OBJS) $(CUDA_SRCS:%.cu=$(BUILD)/obj/%.cu.o)
LIB := $(BUILD)/libgradlab.a
# Linked whole: ops register themselves (GL_OP, GL_GRADCHECK) from static
# initialisers, which a plain archive link would drop with their object files.
WHOLE_LIB := -Wl,--whole-archive $(LIB) -Wl,--no-whole-archive

TEST_SUITES := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/*/*.cpp))))
TEST_SUITES := $(sort $(TEST_SUITES))
TEST_BINS := $(TEST_SUITES:%=$(BUILD)/tests/%)
TEST_MAIN := $(BUILD)/obj/tests/doctest_main.o

BENCH_COMMON_SRCS := $(wildcard bench/common/*.cpp)
BENCH_COMMON_OBJS := $(BENCH_COMMON_SRCS:%.cpp=$(BUILD)/obj/%.o)
BENCH_SRCS := $(wildcard bench/*.cpp)
BENCH_BINS := $(BENCH_SRCS:bench/%.cpp=$(BUILD)/bench/%)
EXAMPLE_SRCS := $(wildcard examples/*.cpp)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.cpp=$(BUILD)/examples/%)
# Graded exercises: one folder per exercise under exercises/ (exercises/README.md).
EXERCISES := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard exercises/*/grade.cpp)))))
EXERCISE_GRADER := $(BUILD)/obj/exercises/grader.o
EXERCISE_CHECK_BINS := $(foreach e,$(EXERCISES),$(BUILD)/exercises/$(e)/solution $(BUILD)/exercises/$(e)/blank)
# Experiment binaries (one per paper) are listed in bench/EXPERIMENTS; make
# reproduce runs them with --quick, make test with --smoke.
EXPERIMENTS := $(strip $(shell grep -v '^\#' bench/EXPERIMENTS 2>/dev/null))

.PHONY: all test bench bench-results reproduce clean deps bench-deps FORCE
# Keep objects made by pattern rules (make would delete them as intermediates).
.SECONDARY:
all: $(LIB) $(TEST_BINS) $(DIST_RANKS) $(BENCH_BINS) $(EXAMPLE_BINS) $(EXERCISE_CHECK_BINS)

# ---- Debian packages ----
# Each entry is package:file-it-provides. Missing ones are installed with
# apt-get when running as root; otherwise make stops and prints the command.
BUILD_DEPS := libfmt-dev:/usr/include/fmt/format.h doctest-dev:/usr/include/doctest/doctest.h \
              pkg-config:/usr/bin/pkg-config libopenmpi-dev:/usr/lib/x86_64-linux-gnu/pkgconfig/ompi.pc \
              openmpi-bin:/usr/bin/mpirun
BENCH_DEPS := python3-numpy:/usr/lib/python3/dist-packages/numpy/__init__.py \
              python3-torch:/usr/lib/python3/dist-packages/torch/__init__.py \
              libopenblas0-pthread:/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 \
              gnuplot-nox:/usr/bin/gnuplot
define ensure_packages
	@missing=""; for entry in $(1); do pkg=$${entry%%:*}; file=$${entry#*:}; \
	  [ -e "$$file" ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing >/dev/null || \
	      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; } || exit 1; \
	  else \
	    echo "gradlab needs these Debian packages:$$missing"; \
	    echo "install them with:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef
deps:
	$(call ensure_packages,$(BUILD_DEPS))
bench-deps:
	$(call ensure_packages,$(BENCH_DEPS))

# ---- compile ----
# The flags are recorded in the build folder, one stamp per kind of step; when
# they change (ARCH=, SANITIZE=, CUDA_ARCHS=, ...) the objects made with them
# are rebuilt instead of mixing configurations.
CXX_STAMP := $(BUILD)/.flags-cxx
CUDA_STAMP := $(BUILD)/.flags-cuda
LINK_STAMP := $(BUILD)/.flags-link
$(CXX_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CXX) $(CXXFLAGS)' | cmp -s - $@ || echo '$(CXX) $(CXXFLAGS)' > $@
$(CUDA_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(WITH_CUDA) $(CUDA_CXXFLAGS) | $(NVCC) $(NVCCFLAGS)' | cmp -s - $@ || \
	  echo '$(WITH_CUDA) $(CUDA_CXXFLAGS) | $(NVCC) $(NVCCFLAGS)' > $@
# The link stamp also lists the library's objects, so that deleting a source
# file rebuilds the archive without it.
LINK_NOW = $(WITH_CUDA) $(LDFLAGS) $(LDLIBS) | $(LIB_OBJS)
$(LINK_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(LINK_NOW)' | cmp -s - $@ || echo '$(LINK_NOW)' > $@
FORCE:

$(BUILD)/obj/%.o: %.cpp $(CXX_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(CUDA_CPP_OBJS): $(BUILD)/obj/%.o: %.cpp $(CXX_STAMP) $(CUDA_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(CUDA_CXXFLAGS) -c $< -o $@

# The MPI and NCCL backends see their engines' headers; nothing else does.
$(BUILD)/obj/dist/mpi.o: dist/mpi.cpp $(CXX_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(MPI_CFLAGS) -c $< -o $@
$(BUILD)/obj/dist/nccl.o: dist/nccl.cpp $(CXX_STAMP) $(CUDA_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(CUDA_CXXFLAGS) $(MPI_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu $(CUDA_STAMP) | deps
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS) $(LINK_STAMP)
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $(LIB_OBJS)

# ---- tests: one doctest binary per folder of tests/ ----
$(TEST_MAIN): tests/doctest_main.cpp $(CXX_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

test_objs = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard tests/$(1)/*.cpp))
.SECONDEXPANSION:
# Tests link the benchmarks' shared code too (tests/bench checks the runner).
$(BUILD)/tests/%: $$(call test_objs,$$*) $(TEST_MAIN) $(LIB) $(BENCH_COMMON_OBJS) $(BUILD)/tests/.%.objs
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)
# A suite's object list, rewritten only when it changes: a deleted test file relinks its suite.
$(BUILD)/tests/.%.objs: FORCE
	@mkdir -p $(@D)
	@echo '$(call test_objs,$*)' | cmp -s - $@ || echo '$(call test_objs,$*)' > $@

# The 2-process dist/ checks (tests/dist_ranks.cpp, run under mpirun by
# tests/check_dist.sh); DIST_RANKS.mpi records whether this build has MPI.
DIST_RANKS := $(BUILD)/tests/dist_ranks
$(DIST_RANKS): $(BUILD)/obj/tests/dist_ranks.o $(TEST_MAIN) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)
	@echo $(WITH_MPI) > $@.mpi

# ---- exercises: each grade.cpp linked with the library's answer (solution),
# the untouched blank, or the student's copy in exercises/work/ (student) ----
# A blank's parameters are unused until the student writes the body.
$(BUILD)/obj/exercises/%.o: exercises/%.cpp $(CXX_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -Wno-unused-parameter -c $< -o $@
$(BUILD)/exercises/%/solution: $(BUILD)/obj/exercises/%/grade.o $(BUILD)/obj/exercises/%/solution.o $(EXERCISE_GRADER) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)
$(BUILD)/exercises/%/blank: $(BUILD)/obj/exercises/%/grade.o $(BUILD)/obj/exercises/%/blank.o $(EXERCISE_GRADER) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)
$(BUILD)/exercises/%/student: $(BUILD)/obj/exercises/%/grade.o $(BUILD)/obj/exercises/work/%.o $(EXERCISE_GRADER) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)

# make exercise NAME=gelu_backward: copies the blank to exercises/work/NAME.cpp
# the first time (that copy is the student's to edit; git ignores it), then
# builds it with the exercise's grader and runs the checks.
.PHONY: exercise exercise-solutions
exercise:
	@if [ -z "$(NAME)" ]; then echo "usage: make exercise NAME=<name>   (exercises: $(EXERCISES))"; exit 2; fi
	@if [ ! -f exercises/$(NAME)/grade.cpp ]; then \
	  echo "make exercise: no exercise '$(NAME)' (exercises: $(EXERCISES))"; exit 2; fi
	@if [ ! -f exercises/work/$(NAME).cpp ]; then mkdir -p exercises/work && \
	  cp exercises/$(NAME)/blank.cpp exercises/work/$(NAME).cpp && \
	  echo "created exercises/work/$(NAME).cpp from the blank: write the function's body there, then run this again"; fi
	@$(MAKE) --no-print-directory $(BUILD)/exercises/$(NAME)/student
	@$(BUILD)/exercises/$(NAME)/student

# Every exercise passes with the library's own code and fails with its blank
# (tests/check_exercises.sh; part of make test).
exercise-solutions: $(EXERCISE_CHECK_BINS)
	@tests/check_exercises.sh $(BUILD)/exercises $(EXERCISES)

# ---- bench binaries ----
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCH_COMMON_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)
# gpu_algorithms times these experiments as child processes (its smoke run included).
$(BUILD)/bench/gpu_algorithms: | $(BUILD)/bench/align_baselines $(BUILD)/bench/up_rlhf

bench: $(BENCH_BINS)

# ---- examples: the first programs a user writes (examples/README.md) ----
$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)
.PHONY: examples
examples: $(EXAMPLE_BINS)

# Re-measures the figures recorded in bench/results/ and README.md (a few
# minutes; run it on an otherwise idle machine).
RESULT_BENCHES := gemm elementwise autograd_overhead models
bench-results: $(BENCH_BINS) bench-deps
	@mkdir -p bench/results
	rm -f $(foreach b,$(RESULT_BENCHES),bench/results/$(b).jsonl)
	set -e; for t in 1 2; do for b in $(RESULT_BENCHES); do \
	  $(BUILD)/bench/$$b --threads $$t --jsonl bench/results/$$b.jsonl | tee bench/results/$${b}_$${t}thread.txt; \
	done; done

# ---- running ----
# Each suite, each bench binary's --smoke run and the bench CLI check is a
# target of its own, so that they share the cores with each other and with the
# rest of the build. Each writes its output to $(BUILD)/test-logs/ and prints
# one line when it passes, or its log's end when it fails or runs past
# TEST_TIMEOUT seconds (tests/run_one.sh).
TEST_ORDER ?= file
TEST_SEED ?= 0
TEST_TIMEOUT ?= 900
SUITES ?= $(TEST_SUITES)
SMOKES ?= $(BENCH_SRCS:bench/%.cpp=%)
TEST_LOGS := $(BUILD)/test-logs
DOCTEST_FLAGS := --no-intro --order-by=$(TEST_ORDER) --rand-seed=$(TEST_SEED) $(TEST_ARGS)
SUITE_RUNS := $(SUITES:%=test-suite-%)
SMOKE_RUNS := $(SMOKES:%=test-smoke-%)
.PHONY: test-start $(SUITE_RUNS) $(SMOKE_RUNS) test-bench-cli test-citations test-install test-examples test-exercises \
        test-dist

test-start:
	@rm -rf $(TEST_LOGS); mkdir -p $(TEST_LOGS)
	@echo "running $(words $(SUITES)) suites (order: $(TEST_ORDER), seed $(TEST_SEED)) and $(words $(SMOKES)) smoke runs; logs in $(TEST_LOGS)/"
$(SUITE_RUNS): test-suite-%: $(BUILD)/tests/% | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/$*.log $< $(DOCTEST_FLAGS)
$(SMOKE_RUNS): test-smoke-%: $(BUILD)/bench/% | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/smoke-$*.log $< --smoke
test-bench-cli: $(BENCH_BINS) | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/bench-cli.log tests/bench_cli.sh $(BENCH_BINS)
# Every citation in the sources and docs points inside the repository
# (tests/check_citations.sh; needs no build).
test-citations: | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/citations.log tests/check_citations.sh

# make install into a temporary prefix, then a program built against the
# installed gradlab.pc runs (tests/install_check.sh).
test-install: $(LIB) | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/install.log tests/install_check.sh \
	  BUILD=$(BUILD) ARCH=$(ARCH) CUDA=$(WITH_CUDA) SANITIZE=$(SANITIZE)

# Each example on a tiny budget (tests/run_examples.sh).
test-examples: $(EXAMPLE_BINS) | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/examples.log tests/run_examples.sh $(BUILD)/examples

# Each exercise's grader with the library's answer (must pass) and with the blank (must fail).
test-exercises: $(EXERCISE_CHECK_BINS) | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/exercises.log tests/check_exercises.sh $(BUILD)/exercises $(EXERCISES)

# dist/ on 2 processes under mpirun (tests/check_dist.sh). Not in the sanitizer
# build: OpenMPI's own allocations read as leaks there (tests/dist covers dist/
# in one process under the sanitizers).
test-dist: $(DIST_RANKS) | test-start
	@tests/run_one.sh $(TEST_TIMEOUT) $(TEST_LOGS)/dist-2-ranks.log tests/check_dist.sh $(DIST_RANKS)
DIST_RUN := $(if $(filter 1,$(SANITIZE)),,test-dist)

# With SMOKES empty (make test SUITES=nn SMOKES=) no bench binary is built or run.
test: $(SUITE_RUNS) $(SMOKE_RUNS) $(if $(strip $(SMOKES)),test-bench-cli) test-citations test-install test-examples test-exercises \
      $(DIST_RUN)
	@tests/run_one.sh --summary $(TEST_LOGS)

# Runs every experiment of bench/EXPERIMENTS at its --quick budget (outputs in
# $(BUILD)/reproduce/NAME/: tables, CSV, plots, claims.tsv) and ends with one
# summary table of the papers' claims. A claim that does not reproduce is a
# finding (exit 0); an experiment that breaks fails the target.
REPRODUCE_DIR := $(BUILD)/reproduce
reproduce: $(BENCH_BINS) bench-deps
	@if [ -z "$(EXPERIMENTS)" ]; then \
	  echo "No paper experiments exist yet (they arrive with the algorithm issues)."; \
	else \
	  set -e; mkdir -p $(REPRODUCE_DIR); start=$$(date +%s); times=""; \
	  for e in $(EXPERIMENTS); do \
	    echo "== $$e --quick"; rm -rf $(REPRODUCE_DIR)/$$e; t0=$$(date +%s); \
	    $(BUILD)/bench/$$e --quick --out $(REPRODUCE_DIR)/$$e --jsonl $(REPRODUCE_DIR)/$$e/$$e.jsonl; \
	    times="$$times$${times:+, }$$e $$(( $$(date +%s) - t0 ))"; \
	  done; \
	  bench/reproduce_summary.sh $(REPRODUCE_DIR) $(EXPERIMENTS); \
	  echo "seconds per experiment: $$times"; \
	  echo "total: $$(( $$(date +%s) - start )) s; outputs in $(REPRODUCE_DIR)/"; \
	fi

# ---- install: headers, the library and a pkg-config file ----
# `make install PREFIX=$$HOME/.local` puts the headers under include/gradlab/
# (as the sources include them: "tensor/ops.h"), lib/libgradlab.a and
# lib/pkgconfig/gradlab.pc, whose link line carries what linking the archive
# needs: --whole-archive (ops and gradient checks register themselves from
# static initialisers), OpenMP, fmt, and cuBLAS/cudart for a CUDA build.
# A program then builds with
#   g++ prog.cpp $$(PKG_CONFIG_PATH=$$PREFIX/lib/pkgconfig pkg-config --cflags --libs gradlab)
# The library keeps this build's options (ARCH=, CUDA=, SANITIZE=).
PREFIX ?= /usr/local
LIB_HEADERS := $(foreach d,$(LIB_DIRS) tensor/cuda,$(wildcard $(d)/*.h))
comma := ,
PC_CFLAGS := -std=c++20 -fopenmp -I$${includedir}
PC_LIBS := -fopenmp $(SAN_LD) -L$${libdir} -Wl,--whole-archive -lgradlab -Wl,--no-whole-archive -lfmt \
           $(if $(filter 1,$(WITH_MPI)),$(MPI_LIBS)) \
           $(if $(filter 1,$(WITH_CUDA)),-L$(CUDA_HOME)/lib64 -Wl$(comma)-rpath$(comma)$(CUDA_HOME)/lib64 -lcublas -lcudart \
             $(if $(filter 1,$(WITH_MPI)),-lnccl))
.PHONY: install
install: $(LIB)
	@test -n "$(PREFIX)" || { echo "make install: PREFIX is empty"; exit 2; }
	@mkdir -p "$(PREFIX)/include/gradlab" "$(PREFIX)/lib/pkgconfig"
	@for h in $(LIB_HEADERS); do install -D -m 644 "$$h" "$(PREFIX)/include/gradlab/$$h" || exit 1; done
	@install -m 644 $(LIB) "$(PREFIX)/lib/libgradlab.a"
	@printf '%s\n' 'prefix=$(abspath $(PREFIX))' 'includedir=$${prefix}/include/gradlab' 'libdir=$${prefix}/lib' '' \
	  'Name: gradlab' 'Description: tensors, autograd, nn and optim in C++ (CPU with OpenMP$(if $(filter 1,$(WITH_CUDA)), and CUDA))' \
	  'Version: 0.1.0' 'Cflags: $(PC_CFLAGS)' 'Libs: $(strip $(PC_LIBS))' > "$(PREFIX)/lib/pkgconfig/gradlab.pc.tmp"
	@mv "$(PREFIX)/lib/pkgconfig/gradlab.pc.tmp" "$(PREFIX)/lib/pkgconfig/gradlab.pc"
	@echo "installed $(words $(LIB_HEADERS)) headers, libgradlab.a and gradlab.pc under $(PREFIX)"

clean:
	rm -rf build build-sanitize

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
