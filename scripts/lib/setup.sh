# Shared set-up for the README's commands: installs what is missing from Debian's packages, builds, and starts a
# throwaway PostgreSQL. Sourced, not run.

# Installs the Debian packages (given as "command:package" pairs) whose command is missing.
ensure_packages() {
  local missing=() pair cmd pkg
  for pair in "$@"; do
    cmd=${pair%%:*}; pkg=${pair#*:}
    if [[ $cmd == /* ]]; then [[ -e $cmd ]] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
    missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "==> installing ${missing[*]} from Debian's packages" >&2
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The PostgreSQL server binaries this machine has (newest version).
pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  echo "${d:-/usr/lib/postgresql/15/bin}"
}

ensure_postgres() {
  if [[ ! -x "$(pg_bindir)/initdb" ]]; then
    ensure_packages "/nonexistent-postgres:postgresql"
  fi
  ensure_packages "runuser:util-linux" "setsid:util-linux" "prlimit:util-linux" "openssl:openssl" "psql:postgresql-client"
}

# What building Sluice needs besides Rust: a C toolchain, make, pkg-config, and the OpenSSL and zlib headers (the
# Kafka sink builds librdkafka from its bundled sources).
ensure_build_tools() {
  ensure_packages "cc:gcc" "make:make" "pkg-config:pkg-config" "/usr/include/openssl/ssl.h:libssl-dev" \
    "/usr/include/zlib.h:zlib1g-dev" "perl:perl"
}

# The Kafka-protocol broker the tests and the Kafka quick start use: `nisshi` from crates.io (no Apache Kafka can be
# installed from Debian's packages). Installed once into cargo's bin directory (about 15 minutes on 2 cores) and
# reused afterwards.
NISSHI_VERSION=0.7.0-pre.2
ensure_nisshi() {
  local bin="${CARGO_HOME:-$HOME/.cargo}/bin/nisshi"
  if [[ -x $bin ]] && "$bin" --version 2>/dev/null | grep -q "$NISSHI_VERSION"; then
    export SLUICE_TEST_NISSHI=$bin
    return 0
  fi
  echo "==> installing the Kafka-protocol test broker nisshi $NISSHI_VERSION (once; about 15 minutes)" >&2
  cargo install "nisshi@$NISSHI_VERSION" --locked --features dynostore,libsql >&2
  export SLUICE_TEST_NISSHI=$bin
}

# The Python clients the tests drive Sluice with, as users would: schemathesis, which holds `sluice connect` to
# Kafka's published REST specification. Kept in a virtual environment of their own, made once and reused.
SCHEMATHESIS_VERSION=4.32.5
ensure_python_tools() {
  ensure_packages "python3:python3"
  python3 -c 'import venv, ensurepip' 2>/dev/null || ensure_packages "/nonexistent-venv:python3-venv"
  local venv="${SLUICE_TEST_VENV:-$HOME/.cache/sluice/test-venv}"
  if ! "$venv/bin/python" -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
    echo "==> installing the test clients (schemathesis $SCHEMATHESIS_VERSION) into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >&2
  fi
  export SLUICE_TEST_PYTHON=$venv/bin/python
}

# Starts a throwaway cluster owned by this shell; prints its port. The cluster disappears when this shell exits.
start_throwaway_pg() {
  local dir
  dir=$(mktemp -d /tmp/sluice-pg-XXXXXX)
  "${CARGO_TARGET_DIR:-target}/debug/sluice-throwaway-pg" "$dir" "$$"
}
