# edgecnn: artifacts are targets, recipes are their prerequisites.
#   make demo                               set-up + the demo recipe end to end, prints the table (reports/demo.md)
#   make test                               set-up + the whole test suite
#   make build/<recipe>/int8.tflite         exactly the work needed for that file (make -n shows it)
#   make build/<recipe>/best.tflite         every candidate variant built, measured, the fastest within budget
#   make build/<recipe>/c/model_data.cc     int8.tflite as a C/C++ array + arena constant + op resolver, run on TFLite Micro
#   make build/<recipe>/android/assets/model.json, build/<recipe>/ios/model.json   best.tflite + labels + I/O
#   make compare [QUICK=1 | STUDY=long | STUDY=frontier] [BUDGET_MIN=N]   the study: every recipes/compare_*.yaml
#                                           (quick_*, long_*, frontier_*) model whose row in reports/compare/ is missing
#                                           or stale built and measured, reports/compare.md (quick.md), .csv, .png
#
# Each stage depends only on the recipe sections it reads (build/<r>/stages/<stage>.json, rewritten by
# `edgecnn check` only when they change), so editing `bench:` re-benchmarks without retraining.
# `make -n` runs that check first, so after an edit it shows exactly what will run; `make -q` answers 0
# when nothing would.

PYTHON ?= python3
VENV   ?= .venv
DEVICE_VENV ?= .device-venv
PY     := $(VENV)/bin/python
EDGECNN := $(PY) -m edgecnn
DEMO   := fashion_mnist_mobilenet_v2
CALIB  := $(shell find calib_data -type f -not -name '*.md' 2>/dev/null)
FMNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
PYTEST_ARGS ?=
# pytest-xdist processes, one per core: the suite is CPU-bound, and a third worker on 2 cores spent 18.1 min of
# user CPU against 13.9 with two (a fresh clone's make test: 9 min 17 s; docs/demo.md)
TEST_WORKERS ?= 2

.PHONY: setup data demo test ssh-server slim docs reports-check clean device-check compare compression runtimes fold-check app-check web-setup web-tools web-check max-drop transfer your-data software-gpu swiftshader gpu-check gpu-check-training gpu-check-delegate gpu-coverage peer int8-speed reference stem-trade ablation mcu-report best-edge cpu-precision
.SECONDARY:

setup: $(VENV)/.installed $(if $(GPU),$(VENV)/.installed-gpu) swiftshader web-tools

# The software GPU (SwiftShader, below) as part of set-up: installed as root, else one line says how; set-up
# goes on either way (make gpu-check-delegate and the software-GPU tests need it, nothing else does).
swiftshader:
	@if [ -f $(SWIFTSHADER) ] && ldconfig -p | grep -q libvulkan.so.1; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get install -y -qq chromium-common libvulkan1 >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq chromium-common libvulkan1 >/dev/null; } || \
	  echo "note: could not install SwiftShader (chromium-common, libvulkan1) from Debian's registry; make gpu-check-delegate needs it or a GPU." >&2; \
	else echo "note: no software GPU here: 'sudo apt-get install chromium-common libvulkan1' lets make gpu-check-delegate run LiteRT's GPU accelerator on SwiftShader." >&2; fi

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

# GPU=1: TensorFlow's CUDA libraries too (NVIDIA's pip wheels, about 3 GB; the driver comes with the machine)
$(VENV)/.installed-gpu: $(VENV)/.installed constraints-gpu.txt
	$(VENV)/bin/pip install -q --disable-pip-version-check -c constraints.txt -c constraints-gpu.txt -e '.[test,gpu]'
	@touch $@

# The embedded default data set; as root it is installed from Debian, otherwise we say how.
data:
	@if [ -n "$$EDGECNN_FASHION_MNIST" ] || [ -f $(FMNIST) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
	  apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; }; \
	else \
	  echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist', or set EDGECNN_FASHION_MNIST to a folder with its idx .gz files." >&2; \
	  exit 1; \
	fi

demo: setup data
	$(MAKE) --no-print-directory build/$(DEMO)/bench.json
	@$(EDGECNN) report recipes/$(DEMO).yaml --out reports/demo.md
	@$(EDGECNN) confusion recipes/$(DEMO).yaml --out reports/demo

# The tests that need an env from a package registry (the device env with tflite-runtime 2.14, the ARM root)
# make it themselves; where it cannot be installed they are skipped with the reason, and under CI=true they fail.
test: setup data
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The study: recipes/<STUDY>_<model>.yaml share one training budget; each model's best.tflite measures its files'
# accuracy, its figures are kept as reports/<STUDY>/<model>.json (a row, with what made it), and the report
# reports/<STUDY>.* is written from the rows (edgecnn/study/run.py). Only models whose row is missing or stale are
# built, so a long study completes over several runs: BUDGET_MIN=N stops building after N minutes and writes the
# report from the rows so far. MODELS="vgg16 mobilenet_v2 ..." builds those of the study's models only (CI's smoke
# run: one of each family).
STUDY ?= $(if $(QUICK),quick,compare)
MODELS ?=
BUDGET_MIN ?=

# QUICK=1 builds two models at a time: the converter and the accuracy runs use one core, so a second
# model's training fills the other. Each model's own optimize latencies are then noisy; the report's
# latencies come from one benchmark run after all the builds. The full study builds one at a time.
compare: setup data
	$(PY) -m edgecnn.study.run --study $(STUDY) --models "$(MODELS)" $(if $(BUDGET_MIN),--budget-min $(BUDGET_MIN)) \
	  $(if $(QUICK),--jobs 2)

# Every built .tflite on the runtime devices ship: numpy<2 + tflite-runtime 2.14 + the bench, no TensorFlow.
# The bench goes in the way it goes onto a device: edgecnn/__init__.py and edgecnn/bench/ copied.
BENCH_SRC := $(wildcard edgecnn/__init__.py edgecnn/bench/*.py)
$(DEVICE_VENV)/.installed: $(BENCH_SRC)
	$(PYTHON) -m venv $(DEVICE_VENV)
	$(DEVICE_VENV)/bin/pip install -q --disable-pip-version-check "numpy<2" tflite-runtime==2.14.0 || \
	  { echo "could not install numpy<2 and tflite-runtime 2.14.0 from PyPI into $(DEVICE_VENV) (is it reachable?)." >&2; exit 1; }
	site=$$($(DEVICE_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') && \
	  rm -rf $$site/edgecnn && mkdir -p $$site/edgecnn && cp edgecnn/__init__.py $$site/edgecnn/ && \
	  cp -r edgecnn/bench $$site/edgecnn/ && rm -rf $$site/edgecnn/bench/__pycache__
	@touch $@

# ARCH=aarch64: the same files on a 64-bit ARM runtime under qemu-user, as on a Raspberry Pi OS 64-bit board:
# Debian bookworm's arm64 python3.11 extracted into $(ARM_ROOT) (mmdebstrap, no emulation at set-up), the
# aarch64 wheels of numpy, Pillow and the LiteRT the host pins, the bench copied in. Top-1 on ARM against the
# host's on the first $(ARM_SAMPLES) test images of every file with a testset.npz beside it; no latency.
ARCH ?= $(shell uname -m)
ARM_ROOT ?= .arm64-root
ARM_SAMPLES ?= 300
# ARM_REPORT=reports/arm_check.md: the table written as a report with its record (edgecnn/study/arm_check.py)
ARM_REPORT ?=
DEVICE_CHECK ?= build
LITERT_PIN := $(shell grep -i '^ai-edge-litert==' constraints.txt)
ifeq ($(ARCH),aarch64)
device-check: setup $(ARM_ROOT)/.installed
	$(if $(ARM_REPORT),$(PY) -m edgecnn.study.arm_check $(ARM_ROOT) $(DEVICE_CHECK) --samples $(ARM_SAMPLES) \
	  --report $(basename $(ARM_REPORT)),$(PY) -m edgecnn.bench.emulated $(ARM_ROOT) $(DEVICE_CHECK) --samples $(ARM_SAMPLES))
else
device-check: $(DEVICE_VENV)/.installed
	cd $(DEVICE_VENV) && bin/python -m edgecnn.bench.device_check $(addprefix $(CURDIR)/,$(DEVICE_CHECK))
endif

$(ARM_ROOT)/.installed: | $(VENV)/.installed
	@if ! command -v mmdebstrap >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then { apt-get update -qq && apt-get install -y -qq mmdebstrap qemu-user-static >/dev/null; } || \
	    { echo "could not install qemu-user-static and mmdebstrap from Debian's registry (is it reachable?)." >&2; exit 1; }; \
	  else echo "the ARM check needs qemu-user and mmdebstrap: run 'sudo apt-get install qemu-user-static mmdebstrap'." >&2; exit 1; fi; fi
	rm -rf $(ARM_ROOT) $(ARM_ROOT).tmp
	mmdebstrap --quiet --arch=arm64 --variant=extract \
	  --include=python3.11-minimal,libpython3.11-stdlib,libstdc++6,libgcc-s1,zlib1g \
	  bookworm $(ARM_ROOT).tmp http://deb.debian.org/debian || \
	  { echo "could not fetch Debian's arm64 packages from deb.debian.org (is the Debian registry reachable?)." >&2; exit 1; }
	$(PY) -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.11 \
	  --platform manylinux_2_27_aarch64 --platform manylinux_2_17_aarch64 -d $(ARM_ROOT).tmp/wheels \
	  "$(LITERT_PIN)" "numpy<2.3" pillow || \
	  { echo "could not fetch the aarch64 wheels of $(LITERT_PIN), numpy and Pillow from PyPI (is it reachable?)." >&2; exit 1; }
	mkdir -p $(ARM_ROOT).tmp/opt/bench/site
	for w in $(ARM_ROOT).tmp/wheels/*.whl; do $(PY) -m zipfile -e $$w $(ARM_ROOT).tmp/opt/bench/site || exit 1; done
	rm -rf $(ARM_ROOT).tmp/wheels && mv $(ARM_ROOT).tmp $(ARM_ROOT) && touch $@

# Every built best.tflite/int8.tflite (3-channel) on the TFLite Task Library, as an Android app classifies:
# tflite-support 0.4.4 needs protobuf<4 and numpy<2 (it cannot share TensorFlow's env) and Debian's libusb.
APP_VENV ?= .app-venv
APP_CHECK ?= build
$(APP_VENV)/.installed:
	@if ! ldconfig -p | grep -q libusb-1.0; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libusb-1.0-0 >/dev/null; \
	  else echo "the Task Library needs libusb: run 'sudo apt-get install libusb-1.0-0'." >&2; exit 1; fi; fi
	$(PYTHON) -m venv $(APP_VENV)
	$(APP_VENV)/bin/pip install -q --disable-pip-version-check "numpy<2" "protobuf<4" tflite-support==0.4.4
	@touch $@

# MediaPipe Tasks, the Task Library's successor: its wheel (OpenCV inside, about 650 MB) in an env of its own
MP_VENV ?= .mediapipe-venv
$(MP_VENV)/.installed:
	$(PYTHON) -m venv $(MP_VENV)
	$(MP_VENV)/bin/pip install -q --disable-pip-version-check mediapipe==1.2.3 || \
	  { echo "could not install mediapipe 1.2.3 from PyPI into $(MP_VENV) (is it reachable?)." >&2; exit 1; }
	@touch $@

app-check: setup $(APP_VENV)/.installed $(MP_VENV)/.installed
	$(EDGECNN) app-check $(APP_CHECK) --python $(APP_VENV)/bin/python --mediapipe-python $(MP_VENV)/bin/python \
	  $(if $(APP_REPORT),--report $(APP_REPORT))

# quantize.max_drop measured: fp32, plain int8 and the budgeted int8 of recipes/vgg16_max_drop.yaml on the test set
max-drop: setup data
	$(PY) -m edgecnn.study.max_drop

# The web page (edgecnn export --format web) in a real browser: Chromium and Node from Debian (as root; otherwise
# one line says how), LiteRT.js and puppeteer-core from npm at the versions web/package-lock.json pins. make setup
# tries it and goes on without (make web-check and the web tests need it, nothing else does).
WEB_MODULES := web/node_modules/.installed
WEB_CHECK ?= build/$(DEMO)/fp32.tflite build/$(DEMO)/int8.tflite
web-setup: $(WEB_MODULES)
$(WEB_MODULES): web/package.json web/package-lock.json
	@missing="$$(command -v chromium >/dev/null || echo chromium) $$(command -v node >/dev/null || echo nodejs) \
	  $$(command -v npm >/dev/null || echo npm)"; \
	if [ -z "$$(echo $$missing)" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then { apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; } || \
	  { echo "could not install $$(echo $$missing) from Debian's registry; make web-check needs them." >&2; exit 1; }; \
	else echo "the web page's check needs $$(echo $$missing): run 'sudo apt-get install $$(echo $$missing)'." >&2; exit 1; fi
	cd web && npm ci --silent --no-audit --no-fund || \
	  { echo "could not install LiteRT.js and puppeteer-core from npm (npm ci in web/); is the registry reachable?" >&2; exit 1; }
	@touch $@
web-tools:
	@$(MAKE) --no-print-directory $(WEB_MODULES) || echo "note: make web-check needs Chromium, Node and web/node_modules (make web-setup)." >&2

# OpenSSH's server and client from Debian: the test of `edgecnn-bench --remote` starts its own sshd on 127.0.0.1
# (a host key, an authorized key and a port of its own) and logs into it as into a board.
ssh-server:
	@if command -v ssh >/dev/null && [ -x /usr/sbin/sshd ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then { apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq openssh-server openssh-client >/dev/null; }; } || \
	  { echo "could not install openssh-server and openssh-client from Debian's registry." >&2; exit 1; }; \
	else echo "the --remote test needs OpenSSH's server: run 'sudo apt-get install openssh-server openssh-client'." >&2; exit 1; fi

# The demo's page on WebAssembly and on WebGPU (SwiftShader without a GPU), against edgecnn-bench on 1,000 test
# images; WEB_REPORT=reports/web_check also writes the report and the screenshot docs/web.md shows.
web-check: setup $(WEB_MODULES)
	$(EDGECNN) web-check $(WEB_CHECK) $(if $(WEB_REPORT),--report $(WEB_REPORT))

# --- the stage graph ---------------------------------------------------------------------------
# every recipe file: a recipe may start from others (`base:`); check rewrites only what changed.
# build/<r>/deps.mk (written by check) adds the files the recipe reads: its data, calibration images and
# starting weights; one added, removed or changed checks it again, and the stages whose fingerprint moved rebuild.
build/%/recipe.json: recipes/%.yaml $(wildcard recipes/*.yaml) | $(VENV)/.installed
	$(EDGECNN) check $<

# the recipes the goals name (build/<recipe>/...)
GOAL_RECIPES := $(sort $(foreach g,$(MAKECMDGOALS),$(if $(filter build/%,$(g)),$(word 2,$(subst /, ,$(g))))))

# make -n: `edgecnn check` runs first for each recipe the goals name (it writes only build/<r>/recipe.json,
# stages/ and deps.mk, no artifact), so the plan printed is the one make will run.
ifneq (,$(findstring n,$(firstword -$(MAKEFLAGS))))
$(foreach r,$(GOAL_RECIPES),$(if $(wildcard recipes/$(r).yaml),$(shell $(EDGECNN) check recipes/$(r).yaml >&2)))
endif

-include $(wildcard build/*/deps.mk)

# A goal's recipe edited since its last check: check runs while make is still reading its makefiles (each goal
# recipe's deps.mk, which check rewrites, waits on recipe.json), so make starts again and reads every stage file's
# time after check wrote it. Run later, as any other rule, check came too late: make had read the stage file's
# time when it looked for the rule of the artifact that needs it, and an edit was seen only by the make after.
$(foreach r,$(GOAL_RECIPES),$(if $(wildcard build/$(r)/deps.mk),$(eval build/$(r)/deps.mk: build/$(r)/recipe.json ;)))

# A goal's recipe never checked before: its deps.mk is made (by check) and read before anything is built,
# so the starting weights and distillation teachers it names under build/ are made first.
NEW_DEPS := $(foreach r,$(GOAL_RECIPES),$(if $(wildcard recipes/$(r).yaml),$(if $(wildcard build/$(r)/deps.mk),,build/$(r)/deps.mk)))
-include $(NEW_DEPS)
$(NEW_DEPS): build/%/deps.mk: | $(VENV)/.installed
	$(EDGECNN) check recipes/$*.yaml

# A stage's config is rewritten by check only when its sections change; recipe.json comes first (order-only),
# and make reads the stage file's time after check ran: an unchanged stage leaves its artifacts up to date.
STAGES := data train fp32 fp16 dynamic int8 int16x8 prune slim qat cluster bench optimize export
$(foreach s,$(STAGES),build/%/stages/$(s).json): | build/%/recipe.json ;

build/%/model.keras: build/%/stages/train.json
	$(EDGECNN) train recipes/$*.yaml

build/%/testset.npz: build/%/stages/data.json
	$(EDGECNN) testset recipes/$*.yaml

# --- variants (names as in edgecnn/variants.py) --------------------------------------------------
# build/<r>/<FORMAT>.tflite from model.keras, build/<r>/<SOURCE>-<FORMAT>.tflite from a compressed
# model. SOURCE names the steps from the trained model in order: slim-NN, pruned-NN, clustered-K (.keras), qat
# (.h5), e.g. slim-40, pruned-80, pruned-80-clustered-8, pruned-80-qat; each is made from the source before its
# last step. FORMAT is fp32 fp16 dynamic int8 int16x8. The functions below read the recipe folder,
# source, last step and parent from the target name; edgecnn rejects names that break the grammar.
.SECONDEXPANSION:
recipe_of = $(patsubst %/,%,$(dir $1))
format_of = $(lastword $(subst -, ,$(notdir $1)))
source_of = $(or $(patsubst %-$(call format_of,$1),%,$(filter %-$(call format_of,$1),$(notdir $1))),model)
level_of  = $(lastword $(subst -, ,$1))
kind_of   = $(if $(filter qat,$(call level_of,$1)),qat,$(if $(findstring clustered-$(call level_of,$1),$1),clustered,$(firstword $(subst -, ,$1))))
step_of   = $(if $(filter qat,$(call kind_of,$1)),qat,$(call kind_of,$1)-$(call level_of,$1))
parent_of = $(or $(patsubst %-$(call step_of,$1),%,$(filter %-$(call step_of,$1),$1)),model)
file_of   = $(1)$(if $(filter qat,$(call kind_of,$1)),.h5,.keras)
stage_of  = $(patsubst pruned,prune,$(patsubst clustered,cluster,$(call kind_of,$1)))

calib_of  = $(if $(filter int8 int16x8,$(call format_of,$1)),$(CALIB))

build/%.tflite: build/$$(call recipe_of,$$*)/$$(call file_of,$$(call source_of,$$*)) \
                build/$$(call recipe_of,$$*)/stages/$$(call format_of,$$*).json $$(call calib_of,$$*)
	$(EDGECNN) convert recipes/$(call recipe_of,$*).yaml --variant $(notdir $*)

compress_deps = build/$$(call recipe_of,$$*)/$$(call file_of,$$(call parent_of,$$(notdir $$*))) \
                build/$$(call recipe_of,$$*)/stages/$$(call stage_of,$$(notdir $$*)).json
compress_cmd  = $(EDGECNN) compress recipes/$(call recipe_of,$*).yaml --variant $(notdir $*)
build/%.keras: $(compress_deps)
	$(compress_cmd)
build/%.h5: $(compress_deps)
	$(compress_cmd)

# best.tflite: `edgecnn optimize` makes its candidates (this Makefile again), benchmarks them interleaved
# and keeps the fastest within the accuracy budget; anything upstream changing re-runs it.
build/%/best.tflite: build/%/model.keras build/%/testset.npz \
                     $(foreach s,$(filter-out data train bench export,$(STAGES)),build/%/stages/$(s).json)
	$(EDGECNN) optimize recipes/$*.yaml

build/%/quant_errors.csv: build/%/model.keras build/%/stages/int8.json $(CALIB)
	$(EDGECNN) quant-report recipes/$*.yaml

# with a confusion matrix as a PNG for each file it measured (build/%/confusion_<variant>.png)
build/%/bench.json: build/%/fp32.tflite build/%/int8.tflite build/%/testset.npz build/%/stages/bench.json
	$(EDGECNN) bench recipes/$*.yaml
	$(EDGECNN) confusion recipes/$*.yaml

# --- embedding in apps (edgecnn export): int8.tflite as a microcontroller array, best.tflite as app resources
# tflm.json: int8.tflite on TensorFlow Lite Micro's own interpreter (the arena it needs, top-1 on the bench's test images);
# the C export measures the arena again for its constant and refuses a file over the recipe's export budgets.
build/%/tflm.json: build/%/int8.tflite build/%/testset.npz build/%/stages/bench.json
	$(EDGECNN) tflm recipes/$*.yaml

build/%/c/model_data.cc: build/%/int8.tflite build/%/tflm.json build/%/stages/export.json
	@mkdir -p $(@D)
	$(EDGECNN) export $< --format c --out $(@D) --force --recipe recipes/$*.yaml

build/%/android/assets/model.json: build/%/best.tflite
	@mkdir -p build/$*/android
	$(EDGECNN) export $< --format android --out build/$*/android --force --recipe recipes/$*.yaml

build/%/ios/model.json: build/%/best.tflite
	@mkdir -p $(@D)
	$(EDGECNN) export $< --format ios --out $(@D) --force --recipe recipes/$*.yaml

# The peer benchmark: the zoo's files (224x224x3, untrained) against Keras' applications converted the
# plain way, interleaved, 1 thread, 5 repeats; reports/peer.md (docs/speed.md). PEER="mobilenet_v2 vgg16" picks.
PEER ?=
peer: setup
	$(PY) -m edgecnn.study.peer $(PEER)

# Every edge model's int8 file against its fp32 file at 224x224x3 and 32x32x1, with XNNPACK's partition
# count: reports/int8_speed.md (docs/speed.md). INT8_SPEED="mobilenet_v3_small" picks.
INT8_SPEED ?=
int8-speed: setup
	$(PY) -m edgecnn.study.int8_speed $(INT8_SPEED)

# The device table at the reference resolution: every zoo model at its reference input as fp32, fp16 and int8,
# one interleaved 1-thread benchmark, params and MACs, the papers' ImageNet top-1 marked as published:
# reports/reference.md, .json, .png (docs/speed.md). REFERENCE="mobilenet_v2 resnet50" picks.
REFERENCE ?=
reference: setup
	$(PY) -m edgecnn.study.reference $(REFERENCE)

# The study's stem at 32x32: each edge model of recipes/stride2_*.yaml trained with a stride-2 stem and, as
# recipes/compare_<model>.yaml, with the zoo's stride-1 stem; top-1, latency and TFLM arena of the fp32 and
# int8 files side by side: reports/stem_trade.md, .json (docs/speed.md). Two builds at a time, as QUICK=1.
STEM_MODELS := $(patsubst recipes/stride2_%.yaml,%,$(wildcard recipes/stride2_*.yaml))
STEM_FILES := $(foreach m,$(STEM_MODELS),$(foreach r,compare_$(m) stride2_$(m),$(addprefix build/$(r)/,fp32.tflite int8.tflite testset.npz)))
stem-trade: setup data
	$(MAKE) --no-print-directory -j2 --output-sync=target $(STEM_FILES)
	$(PY) -m edgecnn.study.stem

# What each training choice buys: recipes/ablation_<n>_<choice>.yaml, each one choice on top of the row it
# names, on one model and budget (recipes/_ablation.yaml); top-1 of fp32 and int8 on all test images:
# reports/ablation.md, .json (docs/accuracy.md). The distillation row's teacher is build/best_edge/model.keras,
# which make trains first when it is missing (48 minutes on 2 cores).
ABLATION_FILES := $(foreach r,$(patsubst recipes/%.yaml,%,$(wildcard recipes/ablation_*.yaml)),$(addprefix build/$(r)/,fp32.tflite int8.tflite testset.npz))
ablation: setup data
	$(MAKE) --no-print-directory $(ABLATION_FILES)
	$(PY) -m edgecnn.study.ablation

# The best edge file (recipes/best_edge.yaml, 40 epochs; about 50 minutes on 2 cores): its bench table and how it
# trained, as reports/best_edge.md (docs/accuracy.md)
best-edge: setup data
	$(MAKE) --no-print-directory build/best_edge/bench.json
	$(EDGECNN) report recipes/best_edge.yaml --out reports/best_edge.md

# make your-data: the defaults for a small data set of one's own, measured on three small sets made here (a
# synthetic one and two Fashion-MNIST subsets) against the old defaults and a start from the demo's model
# (edgecnn/study/your_data.py): reports/your_data.md, included in docs/your-data.md. About 20 minutes.
your-data: setup data
	$(PY) -m edgecnn.study.your_data

# make cpu-precision: top-1 at the study's budget when the CPU trains MobileNetV2, ResNet50 and VGG16 in float32
# and in mixed_bfloat16, from seeds 0 and 1 (edgecnn/study/precision.py): reports/cpu_precision.md, included in
# docs/training.md beside the epoch times (reports/cpu_training*.md). Twice the sum of their epoch times (about
# 2 h 20 min on the Intel Xeon of reports/cpu_training_xeon.md); each run is kept
# under build/precision_*/ and reused while its code and recipe are unchanged.
cpu-precision: setup data
	$(PY) -m edgecnn.study.precision --seeds 0 1

# A software GPU for LiteRT's GPU accelerator (WebGPU over Vulkan): SwiftShader, which Debian's chromium-common
# ships, and the Vulkan loader. What runs on the GPU and what it computes can be checked on any machine with it
# (tests/test_gpu_check.py, VK_DRIVER_FILES=$(SWIFTSHADER)); GPU speed needs a real GPU.
SWIFTSHADER := /usr/lib/chromium/vk_swiftshader_icd.json
software-gpu:
	@if [ -f $(SWIFTSHADER) ] && ldconfig -p | grep -q libvulkan.so.1; then :; \
	elif [ "$$(id -u)" = 0 ]; then { apt-get update -qq && apt-get install -y -qq chromium-common libvulkan1 >/dev/null; } || \
	  { echo "could not install chromium-common and libvulkan1 from Debian's registry (is it reachable?)." >&2; exit 1; }; \
	else echo "the software GPU needs SwiftShader and the Vulkan loader: run 'sudo apt-get install chromium-common libvulkan1'." >&2; \
	  exit 1; fi

# make gpu-check: the GPU verified in two halves that run apart (docs/gpu.md); without a GPU each says
# so in one sentence and exits 2 before building anything.
#   gpu-check-training  TensorFlow with CUDA (make setup GPU=1) trains the demo recipe on the GPU, as
#                       recipes/gpu_check_auto.yaml and, mirrored + mixed precision + XLA, gpu_check_fast.yaml
#   gpu-check-delegate  GPU_CHECK's fp32, fp16 and int8 files on LiteRT's GPU accelerator against its CPU
#                       path; without a hardware GPU on SwiftShader (what runs there, not its speed).
#                       TensorFlow-free: `python -m edgecnn.bench.gpu_check` runs it where only the bench is.
#                       GPU_SAMPLES=N: top-1 on the first N test images (default all); GPU_REPORT=reports/
#                       gpu_check_<gpu>.md: the table written as a report with its record (edgecnn/study/gpu_report.py)
GPU_CHECK ?= build/$(DEMO)
GPU_SAMPLES ?=
GPU_REPORT ?=
gpu-check: gpu-check-training gpu-check-delegate

gpu-check-training: setup data
	$(PY) -m edgecnn.train.gpu_check

gpu-check-delegate: setup
	@$(PY) -m edgecnn.bench.gpu_check --probe
	$(MAKE) --no-print-directory $(addprefix $(GPU_CHECK)/,fp32.tflite fp16.tflite int8.tflite testset.npz)
	@rm -f $(GPU_CHECK)/gpu_check.json; status=0; \
	$(PY) -m edgecnn.bench.gpu_check $(addprefix $(GPU_CHECK)/,fp32.tflite fp16.tflite int8.tflite) \
	  --data $(GPU_CHECK)/testset.npz $(if $(GPU_SAMPLES),--samples $(GPU_SAMPLES)) --json $(GPU_CHECK)/gpu_check.json \
	  || status=$$?; \
	$(if $(GPU_REPORT),[ ! -f $(GPU_CHECK)/gpu_check.json ] || $(PY) -m edgecnn.study.gpu_report \
	  $(GPU_CHECK)/gpu_check.json --out $(GPU_REPORT) --command "make gpu-check-delegate GPU_CHECK=$(GPU_CHECK)$(if \
	  $(GPU_SAMPLES), GPU_SAMPLES=$(GPU_SAMPLES)) GPU_REPORT=$(GPU_REPORT)" || status=1;) exit $$status

# What LiteRT's GPU accelerator takes of every zoo model (32x32x1; edge models also 224x224x3; fp32, fp16, int8)
# and what it computes against the CPU path: reports/gpu_coverage.md, included in docs/gpu.md. On SwiftShader
# without a hardware GPU. GPU_COVERAGE="lenet5 mobilenet_v2" picks; python -m edgecnn.study.gpu_coverage --check
# MODEL... makes their 32x32 rows again against the committed report (CI).
gpu-coverage: setup
	$(PY) -m edgecnn.study.gpu_coverage $(GPU_COVERAGE)

# Transfer learning measured: 250 images of Fashion-MNIST's classes 5-9 from scratch against the same images
# starting from a model of classes 0-4 (recipes/transfer_*.yaml), both int8, on all 5,000 test images of 5-9.
transfer: setup data
	$(MAKE) --no-print-directory build/transfer_scratch/int8.tflite build/transfer_finetune/int8.tflite \
	  build/transfer_finetune/testset.npz
	$(PY) -m edgecnn.study.transfer

# What each compression step of the demo recipe costs and buys: optimize's table (every candidate of
# optimize.candidates fine-tuned, converted, measured in one interleaved run; about half an hour on 2 cores) and
# the compression targets computed from it: reports/compression.md, included in docs/compression.md
compression: setup data
	$(MAKE) --no-print-directory build/$(DEMO)/best.tflite
	$(PY) -m edgecnn.study.compression recipes/$(DEMO).yaml --out reports/compression.md

# Channel pruning against the narrower model from scratch: slim-30 and slim-50 of the demo's MobileNet v2,
# micro_cnn and a small DenseNet against each at the width of equal multiply-adds trained on the same budget;
# reports/slim.md, included in docs/compression.md (about an hour on 2 cores)
slim: setup data
	$(PY) -m edgecnn.study.slim_compare

# The input fold on the demo's trained model: unfolded against folded files, fp32 outputs and int8 top-1 on all
# test images: reports/fold_check.md, included in docs/speed.md
fold-check: setup data
	$(MAKE) --no-print-directory build/$(DEMO)/model.keras build/$(DEMO)/testset.npz
	$(PY) -m edgecnn.study.fold recipes/$(DEMO).yaml

# The microcontroller recipes (recipes/mcu_*.yaml; mcu_fashion_mnist, the chosen one, first) on TensorFlow Lite
# Micro: flash, arena, top-1 next to LiteRT's, and whether each fits its budgets: reports/mcu.md, included in
# docs/microcontrollers.md (about an hour on 2 cores from nothing built)
MCU_RECIPES := mcu_fashion_mnist $(filter-out mcu_fashion_mnist,$(basename $(notdir $(wildcard recipes/mcu_*.yaml))))
mcu-report: setup data
	$(MAKE) --no-print-directory $(foreach r,$(MCU_RECIPES),build/$(r)/tflm.json)
	$(PY) -m edgecnn.study.mcu_report $(MCU_RECIPES) --out reports/mcu

# The demo's int8 and fp32 files on LiteRT and on tflite-runtime 2.14 (the device env), with XNNPACK and on
# the reference kernels: reports/runtimes.md, included in docs/benchmark.md
runtimes: setup $(DEVICE_VENV)/.installed
	$(MAKE) --no-print-directory build/$(DEMO)/int8.tflite build/$(DEMO)/fp32.tflite
	$(PY) -m edgecnn.study.runtimes

# docs/ includes the generated tables of reports/ (edgecnn/study/include.py); every command that writes a
# report rewrites its blocks, and this rewrites them all
docs: setup
	$(PY) -m edgecnn.study.include

# Every report under reports/ against the code and recipes that made it (reports/<name>.provenance.json):
# each one current or stale with what changed, and a study's report incomplete while a model has no row; exit 1
# when one is stale or incomplete (edgecnn/study/provenance.py)
reports-check: setup
	$(PY) -m edgecnn.study.provenance --check

clean:
	rm -rf build
