# fcgi-app: build, run locally, test.  `make help` lists the targets.

PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
SANITIZE  ?=
CC        ?= cc
V         ?=
Q         := $(if $(V),,@)

SRC_DIR   := fcgi-app
LIB_SRCS  := app.c clock.c config.c db.c dbtext.c hostinfo.c html.c http.c \
             json.c log.c out.c page.c supervisor.c utf8.c worker.c
LIB_OBJS  := $(addprefix $(BUILD)/obj/,$(LIB_SRCS:.c=.o))
MAIN_OBJ  := $(BUILD)/obj/main.o
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(addprefix $(BUILD)/unit/,$(notdir $(UNIT_SRCS:.c=.o)))

MARIADB_CFLAGS := $(shell mariadb_config --cflags 2>/dev/null)
MARIADB_LIBS   := $(shell mariadb_config --libs 2>/dev/null)
CHECK_CFLAGS   := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS     := $(shell pkg-config --libs check 2>/dev/null)

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
ALL_CFLAGS := -std=c11 $(OPT) $(WARN) $(HARDEN) $(CPPFLAGS) $(CFLAGS) \
              $(MARIADB_CFLAGS) -MMD -MP
LIBS     := -lfcgi $(MARIADB_LIBS)
LDFLAGS_ALL := $(LDHARDEN) $(LDSAN) $(LDFLAGS)

.PHONY: all install deps dev dev-stop test unit-test packer-check ami \
        stack-check stack-deploy stack-smoke stack-delete cluster cluster-stop \
        bench clean help

all: $(BUILD)/fcgi-app ## build the program into build/

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' Makefile | \
	  sed -E 's/:.*## /\t/' | expand -t 14

# V=1 shows the whole compiler command lines
$(BUILD)/obj/%.o: $(SRC_DIR)/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

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

unit-test: $(BUILD)/unit-tests ## run the unit tests
	$(BUILD)/unit-tests

install: $(BUILD)/fcgi-app ## install under $(DESTDIR)$(PREFIX)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/fcgi-app/sql
	install -m 0755 $(BUILD)/fcgi-app $(DESTDIR)$(PREFIX)/sbin/fcgi-app
	install -m 0644 sql/*.sql $(DESTDIR)$(PREFIX)/share/fcgi-app/sql/
	install -m 0644 nginx/fcgi-app.conf $(DESTDIR)$(PREFIX)/share/fcgi-app/nginx-site.conf
	install -m 0644 fcgi-app.cnf.example $(DESTDIR)$(PREFIX)/share/fcgi-app/

deps: ## install the Debian packages the project needs (root)
	@scripts/deps.sh

dev: deps all ## run the service locally with its own database
	@scripts/dev.sh start

dev-stop: ## stop what make dev started
	@scripts/dev.sh stop

test: deps ## build and run every test, plain and under ASan+UBSan
	@tests/run.sh

cluster: deps all ## the stack's shape locally: HAProxy and two instances
	@scripts/cluster.sh start

cluster-stop: ## stop what make cluster started
	@scripts/cluster.sh stop

bench: deps all ## benchmark the page against this machine's limits
	@python3 bench/bench.py

packer-check: all ## packer fmt/validate, shellcheck, systemd-analyze verify
	@packer/check.sh

ami: ## build the AMI in AWS with Packer (needs AWS credentials)
	@packer/ami.sh

stack-check: ## check the CloudFormation template offline
	@stack/check.sh

stack-deploy: ## create or update the stack in AWS (see the README)
	@stack/deploy.sh deploy

stack-smoke: ## curl the stack's ALB until the page shows
	@stack/deploy.sh smoke

stack-delete: ## delete the stack in AWS
	@stack/deploy.sh delete

clean: ## remove build output
	rm -rf $(BUILD)

-include $(LIB_OBJS:.o=.d) $(MAIN_OBJ:.o=.d) $(UNIT_OBJS:.o=.d)
