# edgecnn: artifacts are targets, recipes are their prerequisites.
#   make demo                               set-up + the demo recipe end to end, prints the table
#   make test                               set-up + the whole test suite
#   make build/<recipe>/int8.tflite         exactly the work needed for that file (make -n shows it)
#
# Each stage depends only on the recipe sections it reads (build/<r>/stages/<stage>.json, rewritten by
# `edgecnn check` only when they change), so editing `bench:` re-benchmarks without retraining.
# `make -n` cannot know which sections an edit changed, so after an edit it shows the widest plan.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
EDGECNN := $(PY) -m edgecnn
DEMO   := fashion_mnist_mobilenet_v2
CALIB  := $(shell find calib_data -type f -not -name '*.md' 2>/dev/null)
FMNIST := /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
PYTEST_ARGS ?=

.PHONY: setup data demo test clean
.SECONDARY:

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

# The embedded default data set; as root it is installed from Debian, otherwise we say how.
data:
	@if [ -n "$$EDGECNN_FASHION_MNIST" ] || [ -f $(FMNIST) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing Fashion-MNIST (Debian package dataset-fashion-mnist)"; \
	  apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null; \
	else \
	  echo "Fashion-MNIST is missing: run 'sudo apt-get install dataset-fashion-mnist', or set EDGECNN_FASHION_MNIST to a folder with its idx .gz files." >&2; \
	  exit 1; \
	fi

demo: setup data
	$(MAKE) --no-print-directory build/$(DEMO)/bench.json
	@$(EDGECNN) report recipes/$(DEMO).yaml

test: setup data
	$(PY) -m pytest $(PYTEST_ARGS)

# --- the stage graph ---------------------------------------------------------------------------
build/%/recipe.json: recipes/%.yaml | $(VENV)/.installed
	$(EDGECNN) check $<

build/%/stages/data.json build/%/stages/train.json build/%/stages/fp32.json build/%/stages/fp16.json \
build/%/stages/int8.json build/%/stages/bench.json: build/%/recipe.json ;

build/%/model.keras: build/%/stages/train.json
	$(EDGECNN) train recipes/$*.yaml

build/%/testset.npz: build/%/stages/data.json
	$(EDGECNN) testset recipes/$*.yaml

build/%/fp32.tflite: build/%/model.keras build/%/stages/fp32.json
	$(EDGECNN) convert recipes/$*.yaml --variant fp32

build/%/fp16.tflite: build/%/model.keras build/%/stages/fp16.json
	$(EDGECNN) convert recipes/$*.yaml --variant fp16

build/%/int8.tflite: build/%/model.keras build/%/stages/int8.json $(CALIB)
	$(EDGECNN) convert recipes/$*.yaml --variant int8

build/%/bench.json: build/%/fp32.tflite build/%/int8.tflite build/%/testset.npz build/%/stages/bench.json
	$(EDGECNN) bench recipes/$*.yaml

clean:
	rm -rf build
