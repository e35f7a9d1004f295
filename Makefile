# gradlab build. `make` builds the library and every binary into build/;
# `make test` runs the doctest suites and each bench binary's --smoke run;
# `make bench` builds build/bench/*; `make reproduce` runs the experiments.
#   ARCH=native     -march value (e.g. ARCH=x86-64-v3 for a portable AVX2 build)
#   CUDA=auto       build the CUDA backend when nvcc is found; CUDA=0 off, CUDA=1 required
#   SANITIZE=1      AddressSanitizer + UndefinedBehaviorSanitizer build in build-sanitize/
#   CUDA_ARCHS="80 90"  GPU architectures for nvcc (sm_80, sm_90)

ARCH ?= native
CUDA ?= auto
SANITIZE ?= 0
CUDA_HOME ?= /usr/local/cuda
CUDA_ARCHS ?= 80 90
CXX ?= g++
PYTHON ?= /usr/bin/python3

ifeq ($(SANITIZE),1)
  BUILD ?= build-sanitize
  OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
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
CXXFLAGS += -std=c++20 $(OPT) -march=$(ARCH) -fopenmp -ffp-contract=fast -fno-math-errno -fno-trapping-math \
            -Wall -Wextra -I. -MMD -MP
LDFLAGS += -fopenmp $(SAN_LD)
LDLIBS += -lfmt

# ---- CUDA: auto-detect nvcc ----
NVCC := $(shell command -v nvcc 2>/dev/null || (test -x $(CUDA_HOME)/bin/nvcc && echo $(CUDA_HOME)/bin/nvcc))
ifeq ($(CUDA),auto)
  WITH_CUDA := $(if $(NVCC),1,0)
else
  WITH_CUDA := $(CUDA)
endif
ifeq ($(WITH_CUDA),1)
  ifeq ($(NVCC),)
    $(error CUDA=1 but nvcc was not found (looked on PATH and in $(CUDA_HOME)/bin))
  endif
  # host-side CUDA code (.cpp, g++) and kernels (.cu, nvcc)
  CUDA_CPP_SRCS := $(filter-out tensor/cuda/no_cuda.cpp,$(wildcard tensor/cuda/*.cpp))
  CUDA_SRCS := $(wildcard tensor/cuda/*.cu)
  # fmt's compile-time format checks do not compile under nvcc: .cu files check
  # their format strings at run time instead (FMT_CONSTEVAL empty), and host
  # constexpr helpers (numeric_limits) are callable from the shared GL_HD functors.
  NVCCFLAGS := -std=c++20 -O3 -I. $(foreach a,$(CUDA_ARCHS),-gencode arch=compute_$(a),code=sm_$(a)) \
               -Xcompiler -fopenmp,-Wall -MMD -MP -DGRADLAB_CUDA=1 --expt-relaxed-constexpr \
               -DFMT_CONSTEVAL= -DFMT_USE_CONSTEXPR=1 -diag-suppress 20208
  CXXFLAGS += -I$(CUDA_HOME)/include -DGRADLAB_CUDA=1
  LDFLAGS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64
  LDLIBS += -lcublas -lcudart
else
  CUDA_CPP_SRCS := tensor/cuda/no_cuda.cpp
  CUDA_SRCS :=
endif

# ---- sources ----
# Every folder of library code; a folder that does not exist yet adds nothing.
LIB_DIRS := tensor tensor/cpu autograd nn optim envs envs/preference algorithms/rl algorithms/rl/curiosity \
            algorithms/alignment
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cpp)) $(CUDA_CPP_SRCS)
LIB_OBJS := $(LIB_SRCS:%.cpp=$(BUILD)/obj/%.o) $(CUDA_SRCS:%.cu=$(BUILD)/obj/%.cu.o)
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
# Experiment binaries (one per paper) are listed in bench/EXPERIMENTS; make
# reproduce runs them with --quick, make test with --smoke.
EXPERIMENTS := $(strip $(shell grep -v '^\#' bench/EXPERIMENTS 2>/dev/null))

.PHONY: all test bench bench-results reproduce clean deps bench-deps FORCE
# Keep objects made by pattern rules (make would delete them as intermediates).
.SECONDARY:
all: $(LIB) $(TEST_BINS) $(BENCH_BINS)

# ---- Debian packages ----
# Each entry is package:file-it-provides. Missing ones are installed with
# apt-get when running as root; otherwise make stops and prints the command.
BUILD_DEPS := libfmt-dev:/usr/include/fmt/format.h doctest-dev:/usr/include/doctest/doctest.h
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
# The flags are recorded in the build folder; when they change (CUDA=, ARCH=,
# ...) every object is rebuilt instead of mixing configurations.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CXX) $(CXXFLAGS) | $(NVCC) $(NVCCFLAGS) | $(LDFLAGS) $(LDLIBS)
$(FLAGS_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
FORCE:

$(BUILD)/obj/%.o: %.cpp $(FLAGS_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu $(FLAGS_STAMP) | deps
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

# ---- tests: one doctest binary per folder of tests/ ----
$(TEST_MAIN): tests/doctest_main.cpp $(FLAGS_STAMP) | deps
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) -c $< -o $@

test_objs = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard tests/$(1)/*.cpp))
.SECONDEXPANSION:
# Tests link the benchmarks' shared code too (tests/bench checks the runner).
$(BUILD)/tests/%: $$(call test_objs,$$*) $(TEST_MAIN) $(LIB) $(BENCH_COMMON_OBJS)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)

# ---- bench binaries ----
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BENCH_COMMON_OBJS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(LDFLAGS) $(filter %.o,$^) $(WHOLE_LIB) -o $@ $(LDLIBS)

bench: $(BENCH_BINS)

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
test: $(TEST_BINS) $(BENCH_BINS)
	@set -e; for t in $(TEST_BINS); do echo "== $$t"; $$t --no-intro $(TEST_ARGS); done
	@set -e; for b in $(BENCH_BINS); do echo "== $$b --smoke"; $$b --smoke >/dev/null; done
	@echo "all tests passed ($(words $(TEST_BINS)) suites, $(words $(BENCH_BINS)) bench smoke runs)"

# Runs every experiment of bench/EXPERIMENTS at its --quick budget (outputs in
# $(BUILD)/reproduce/NAME/: tables, CSV, plots, claims.tsv) and ends with one
# summary table of the papers' claims. A claim that does not reproduce is a
# finding (exit 0); an experiment that breaks fails the target.
REPRODUCE_DIR := $(BUILD)/reproduce
reproduce: $(BENCH_BINS) bench-deps
	@if [ -z "$(EXPERIMENTS)" ]; then \
	  echo "No paper experiments exist yet (they arrive with the algorithm issues)."; \
	else \
	  set -e; mkdir -p $(REPRODUCE_DIR); start=$$(date +%s); \
	  for e in $(EXPERIMENTS); do \
	    echo "== $$e --quick"; rm -rf $(REPRODUCE_DIR)/$$e; \
	    $(BUILD)/bench/$$e --quick --out $(REPRODUCE_DIR)/$$e --jsonl $(REPRODUCE_DIR)/$$e/$$e.jsonl; \
	  done; \
	  bench/reproduce_summary.sh $(REPRODUCE_DIR) $(EXPERIMENTS); \
	  echo "total: $$(( $$(date +%s) - start )) s; outputs in $(REPRODUCE_DIR)/"; \
	fi

clean:
	rm -rf build build-sanitize

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
