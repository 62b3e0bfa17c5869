# Thin wrapper around meson; see README.md.
BUILD ?= build
ASAN  ?= build-asan
MESON_OPTS ?=

.PHONY: all deps host test unit demo bench soak clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

# Unit tests again under ASan + UBSan (code that needs no port).
$(ASAN)/build.ninja:
	meson setup $(ASAN) -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

deps:
	bash .ci/deps

host:
	bash .ci/host-setup

unit: all $(ASAN)/build.ninja
	ninja -C $(ASAN)
	meson test -C $(BUILD) --suite unit --print-errorlogs
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN) --suite unit --print-errorlogs

# The "asan" suite: integration tests whose real kdp processes (taps, epoll
# sets, telemetry pages, every kind of frame, AF_XDP, policy conformance,
# the Kubernetes datastore) also run under ASan + UBSan, where a leak at
# exit or an overflow fails them. tests/lsan.supp: leaks of code not ours.
test: deps host unit
	meson test -C $(BUILD) --suite integration --print-errorlogs --num-processes 1
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		meson test -C $(ASAN) --suite asan --print-errorlogs --num-processes 1

demo: deps host all
	bash tests/demo/demo.sh

bench: deps host all
	bash perf/bench.sh
	/usr/bin/python3 perf/k8s_scale.py
	/usr/bin/python3 perf/polbench.py --l3fwd "$$(bash perf/build_l3fwd.sh)"
	for s in encap_pol1k local_pol1k; do \
	  /usr/bin/python3 perf/ab.py $$s --name $$s --a l3fwd_lpm \
	    --l3fwd "$$(bash perf/build_l3fwd.sh)" --b build/dp/main/kdp --runs 3 || exit 1; \
	done

soak: deps host all
	meson test -C $(BUILD) --suite soak --print-errorlogs --num-processes 1

clean:
	rm -rf $(BUILD) $(ASAN)
