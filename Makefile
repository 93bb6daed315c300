# fcgi-app: build, run locally, test.  `make help` lists the targets.

PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
SANITIZE  ?=
CC        ?= cc
V         ?=
Q         := $(if $(V),,@)

SRC_DIR   := fcgi-app
LIB_SRCS  := app.c buf.c clock.c config.c db.c dbcell.c dbpolicy.c dbpool.c \
             dbtext.c dbtls.c drain.c fcgiconn.c hostinfo.c html.c http.c \
             json.c log.c out.c page.c privs.c supervisor.c utf8.c worker.c
LIB_OBJS  := $(addprefix $(BUILD)/obj/,$(LIB_SRCS:.c=.o))
MAIN_OBJ  := $(BUILD)/obj/main.o
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(addprefix $(BUILD)/unit/,$(notdir $(UNIT_SRCS:.c=.o)))

# The libraries' flags are asked for when a recipe first needs them, not
# when make starts: `make dev` and `make test` install the packages (deps)
# before they build.  A tool still missing then stops the build with the
# package's name; nothing is ever compiled with empty flags.
# $(call pkgflags,VAR,COMMAND,PACKAGE) sets VAR once from COMMAND's output.
pkgflags = $(eval $(1) := $(or $(shell $(2) 2>/dev/null),$(error \
    $(firstword $(2)) gave no flags: install $(3) (make deps))))$($(1))
MARIADB_CFLAGS = $(call pkgflags,MARIADB_CFLAGS,mariadb_config --cflags,libmariadb-dev)
MARIADB_LIBS   = $(call pkgflags,MARIADB_LIBS,mariadb_config --libs,libmariadb-dev)
CHECK_CFLAGS   = $(call pkgflags,CHECK_CFLAGS,pkg-config --cflags check,check)
CHECK_LIBS     = $(call pkgflags,CHECK_LIBS,pkg-config --libs check,check)

WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith \
            -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wundef \
            -Wcast-align -Wwrite-strings
HARDEN   := -fstack-protector-strong -fstack-clash-protection \
            -fcf-protection -fPIE
LDHARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ifeq ($(SANITIZE),1)
OPT      := -O1 -g -fno-omit-frame-pointer \
            -fsanitize=address,undefined -fno-sanitize-recover=all
LDSAN    := -fsanitize=address,undefined
else
OPT      := -O2 -g -D_FORTIFY_SOURCE=2
LDSAN    :=
endif
CFLAGS   ?=
CPPFLAGS += -D_DEFAULT_SOURCE
ALL_CFLAGS  = -std=c11 $(OPT) $(WARN) $(HARDEN) $(CPPFLAGS) $(CFLAGS) \
              $(MARIADB_CFLAGS) -MMD -MP
LIBS      = -pthread $(MARIADB_LIBS)

# The build's id, sent on every answer (X-Fcgi-App-Build); app.o is
# rebuilt when it changes.  make cluster-rollout builds a second one.
# The image's source has no .git: packer/source.sh names it in BUILD_ID.
BUILD_ID ?= $(shell cat BUILD_ID 2>/dev/null || git describe --always --dirty 2>/dev/null || echo unknown)
ifeq ($(shell printf '%s' '$(BUILD_ID)' | grep -xE '[A-Za-z0-9._+-]{1,64}'),)
$(error BUILD_ID must be 1-64 of A-Z a-z 0-9 . _ + -)
endif
LDFLAGS_ALL := $(LDHARDEN) $(LDSAN) $(LDFLAGS)

.PHONY: all install deps dev dev-stop test test-faults unit-test packer-check ami image image-test \
        stack-check stack-deploy stack-smoke stack-delete stack-deploy-all \
        stack-db-load stack-delete-all cluster cluster-stop cluster-rollout \
        bench fuzz coverage clean help

all: $(BUILD)/fcgi-app ## build the program into build/

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' Makefile | \
	  sed -E 's/:.*## /\t/' | expand -t 14

# V=1 shows the whole compiler command lines
$(BUILD)/obj/%.o: $(SRC_DIR)/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/build-id: FORCE
	@mkdir -p $(@D)
	@echo '$(BUILD_ID)' | cmp -s - $@ || echo '$(BUILD_ID)' >$@

$(BUILD)/obj/app.o: ALL_CFLAGS += -DFCGI_APP_BUILD='"$(BUILD_ID)"'
$(BUILD)/obj/app.o: $(BUILD)/build-id

FORCE:

$(BUILD)/fcgi-app: $(MAIN_OBJ) $(LIB_OBJS)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS)

$(BUILD)/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) -I$(SRC_DIR) -c -o $@ $<

$(BUILD)/unit-tests: $(UNIT_OBJS) $(LIB_OBJS)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LIBS) $(CHECK_LIBS)

# The suites of app.c and worker.c run over tests/fuzz/fake_db.c, which
# stands in for db.c: a binary of their own, build/unit-fake.
FAKE_SRCS := $(wildcard tests/unit/fake/*.c)
FAKE_OBJS := $(addprefix $(BUILD)/unit/fake/,$(notdir $(FAKE_SRCS:.c=.o)) \
             fake_db.o support.o json_valid.o utf8_valid.o) \
             $(BUILD)/unit/helpers.o
FAKE_LIB  := $(addprefix $(BUILD)/obj/,app.o buf.o clock.o config.o dbpolicy.o \
             dbpool.o drain.o fcgiconn.o html.o http.o json.o log.o out.o \
             page.o utf8.o worker.o)
FAKE_INC  := -I$(SRC_DIR) -Itests/unit -Itests/fuzz

$(BUILD)/unit/fake/%.o: tests/unit/fake/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) $(FAKE_INC) -c -o $@ $<

$(BUILD)/unit/fake/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(CHECK_CFLAGS) $(FAKE_INC) -c -o $@ $<

$(BUILD)/unit-fake: $(FAKE_OBJS) $(FAKE_LIB)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -pthread $(CHECK_LIBS)

unit-test: $(BUILD)/unit-tests $(BUILD)/unit-fake ## run the unit tests
	$(BUILD)/unit-tests
	$(BUILD)/unit-fake

# Line coverage of the program's sources from the unit tests alone, built
# unoptimised with gcov's counters in $(BUILD)/cov.
COV_DIR := $(BUILD)/cov
coverage: deps ## the program's line coverage from the unit tests alone
	@rm -rf $(COV_DIR)
	@$(MAKE) --no-print-directory -s BUILD=$(COV_DIR) OPT="-O0 -g --coverage" \
	    LDSAN=--coverage $(COV_DIR)/unit-tests $(COV_DIR)/unit-fake
	@$(COV_DIR)/unit-tests | tail -n 1
	@$(COV_DIR)/unit-fake | tail -n 1
	@gcovr --root . --object-directory $(COV_DIR)/obj --filter 'fcgi-app/' \
	    --txt - --print-summary | sed -n '/^-*$$/,$$p'

install: $(BUILD)/fcgi-app ## install the program, man page, SQL and site (PREFIX, DESTDIR)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/fcgi-app/sql \
	    $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0755 $(BUILD)/fcgi-app $(DESTDIR)$(PREFIX)/sbin/fcgi-app
	install -m 0644 man/fcgi-app.8 $(DESTDIR)$(PREFIX)/share/man/man8/fcgi-app.8
	install -m 0644 sql/*.sql $(DESTDIR)$(PREFIX)/share/fcgi-app/sql/
	install -m 0644 nginx/fcgi-app.conf $(DESTDIR)$(PREFIX)/share/fcgi-app/nginx-site.conf
	install -m 0644 fcgi-app.cnf.example $(DESTDIR)$(PREFIX)/share/fcgi-app/

deps: ## install every Debian package the project needs (root)
	@scripts/deps.sh all

# Targets that install packages build in a second make, after the install:
# the libraries' flags exist only once their packages do.
dev: ## run the service locally with its own database
	@scripts/deps.sh dev
	@$(MAKE) --no-print-directory all
	@scripts/dev.sh start

dev-stop: ## stop what make dev started
	@scripts/dev.sh stop

test: deps ## build and run every test, plain and under ASan+UBSan
	@tests/run.sh

test-faults: deps ## the fault tests alone: database, instances, stop
	@$(MAKE) --no-print-directory all
	@python3 tests/pyrun.py tests/faults/test_faults.py

.PHONY: test-browser test-newcomer
test-browser: deps ## the page in Chromium alone: rows, paging, console, axe-core, 375 px
	@$(MAKE) --no-print-directory all
	@tests/browser/run.sh

test-newcomer: deps ## make dev from a clone on a fresh Debian 12 root (cached in build/cache)
	@python3 tests/pyrun.py tests/newcomer/test_newcomer.py

cluster: deps ## the stack's shape locally: HAProxy and two instances
	@$(MAKE) --no-print-directory all
	@scripts/cluster.sh start

cluster-stop: ## stop what make cluster started
	@scripts/cluster.sh stop

cluster-rollout: deps ## rehearse the rolling update on the cluster, under load
	@$(MAKE) --no-print-directory all
	@python3 tests/pyrun.py tests/cluster/test_rollout.py

bench: deps ## the targets table: the page against Go, PHP-FPM, Python and this machine's limits, closed and open loop
	@$(MAKE) --no-print-directory all
	@python3 bench/bench.py
	@python3 bench/compress.py

# libFuzzer harnesses (tests/fuzz/), built with clang under ASan+UBSan
# from the product's sources, compiled again for them in build/fuzz/obj
FUZZ_CC     ?= clang
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_NAMES  := fuzz_query fuzz_escape fuzz_config fuzz_page
FUZZ_BINS   := $(addprefix $(FUZZ_DIR)/,$(FUZZ_NAMES))
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all
# the project's warnings, less clang's -Wcast-align, which (unlike gcc's
# on x86) flags config.c's casts of a settings-table field to its type
FUZZ_WARN   := $(filter-out -Wcast-align,$(WARN))
FUZZ_CFLAGS := -std=c11 -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
               $(FUZZ_WARN) -D_DEFAULT_SOURCE -I$(SRC_DIR) -Itests/fuzz -MMD -MP
# each harness: the product's objects it tests (out.o, which the shared
# sink needs, always), then its own; last the sink and the validators,
# which are left out of the coverage that steers the fuzzer
FUZZ_CHECKS := support.o utf8_valid.o json_valid.o
fuzz_objs    = $(addprefix $(FUZZ_DIR)/obj/,$(sort out.o $(1))) \
               $(addprefix $(FUZZ_DIR)/harness/,$(2)) \
               $(addprefix $(FUZZ_DIR)/check/,$(FUZZ_CHECKS))

$(FUZZ_DIR)/obj/%.o: $(SRC_DIR)/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/harness/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/check/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz_query: $(call fuzz_objs,http.o,fuzz_query.o)
$(FUZZ_DIR)/fuzz_escape: $(call fuzz_objs,html.o json.o utf8.o,fuzz_escape.o)
$(FUZZ_DIR)/fuzz_config: $(call fuzz_objs,config.o log.o,fuzz_config.o)
$(FUZZ_DIR)/fuzz_page: $(call fuzz_objs,clock.o page.o html.o json.o log.o utf8.o http.o, \
                       fuzz_page.o fake_db.o)
$(FUZZ_BINS):
	@echo "  LINK    $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^

fuzz: deps ## build the libFuzzer harnesses into build/fuzz/
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@echo "fuzz for longer: FUZZ_SECONDS=600 tests/fuzz/run.sh"

packer-check: all ## packer fmt/validate, shellcheck, systemd-analyze verify
	@packer/check.sh

ami: ## build the AMI in AWS with Packer (needs AWS credentials)
	@packer/ami.sh

image: deps ## build the image offline: packer build, qemu source (build/image/)
	@packer/image.sh

image-test: deps ## make image, then boot it as on EC2: cloud-init, systemd, the page
	@python3 tests/pyrun.py tests/image/test_boot.py

stack-check: ## check the CloudFormation templates offline
	@stack/check.sh

stack-deploy: ## create or update the web-tier stack in AWS (docs/aws.md)
	@stack/deploy.sh deploy

stack-smoke: ## curl the stack's ALB until the page shows
	@stack/deploy.sh smoke

stack-delete: ## delete the stack in AWS
	@stack/deploy.sh delete

stack-deploy-all: ## network, database (sql/ loaded) and web tier in AWS
	@stack/all.sh deploy

stack-db-load: ## load sql/ into RDS through Session Manager; app password to SSM
	@stack/all.sh db-load

stack-delete-all: ## delete the web tier, database and network stacks
	@stack/all.sh delete

clean: ## remove build output
	rm -rf $(BUILD)

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d) \
         $(FAKE_OBJS:.o=.d) \
         $(wildcard $(FUZZ_DIR)/*/*.d)
