#!/usr/bin/env bash
# Makes sure the databases the tests use are reachable: PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust auth, database test) and MariaDB or
# MySQL on 127.0.0.1:3306 (root, no password, database test). It starts
# them when they are installed but stopped (waiting up to
# CRMSYNC_SERVICES_WAIT seconds, default 30, saying so), and when one is
# not installed it says so at once instead of waiting. Point the tests
# elsewhere with CRMSYNC_PG_DSN and CRMSYNC_MYSQL_DSN; `make unit` runs
# the tests that need neither.
set -u

WAIT=${CRMSYNC_SERVICES_WAIT:-30}
PG_PORT=${CRMSYNC_SERVICES_PG_PORT:-5432}    # where to look (the tests' defaults)
MY_PORT=${CRMSYNC_SERVICES_MYSQL_PORT:-3306}

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_for NAME HOST PORT: up to $WAIT seconds, with a line every 5.
wait_for() {
  local name=$1 host=$2 port=$3 i
  echo "services: waiting up to ${WAIT}s for $name to accept connections on $host:$port"
  for ((i = 1; i <= WAIT; i++)); do
    reachable "$host" "$port" && return 0
    if ((i % 5 == 0)); then echo "services: still waiting for $name on $host:$port (${i}s)"; fi
    sleep 1
  done
  return 1
}

fail=0

if [ -n "${CRMSYNC_PG_DSN:-}" ]; then
  echo "services: using CRMSYNC_PG_DSN from the environment"
elif reachable 127.0.0.1 "$PG_PORT"; then
  echo "services: PostgreSQL is up on 127.0.0.1:$PG_PORT"
else
  started=0
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    echo "services: PostgreSQL is installed but not running on 127.0.0.1:$PG_PORT: starting it (pg_ctlcluster $(ls /etc/postgresql | head -1) main start)"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start && started=1
  else
    echo "services: PostgreSQL is not running on 127.0.0.1:$PG_PORT and is not installed here (no pg_ctlcluster, no /etc/postgresql)" >&2
  fi
  if [ "$started" = 1 ] && wait_for PostgreSQL 127.0.0.1 "$PG_PORT"; then
    echo "services: PostgreSQL started"
  else
    echo "services: ERROR: PostgreSQL is not reachable on 127.0.0.1:$PG_PORT." >&2
    echo "  Install and start it (Debian: apt-get install postgresql; pg_ctlcluster 15 main start)," >&2
    echo "  allow trust auth for user postgres and create database test, or set CRMSYNC_PG_DSN." >&2
    fail=1
  fi
fi

if [ -n "${CRMSYNC_MYSQL_DSN:-}" ]; then
  echo "services: using CRMSYNC_MYSQL_DSN from the environment"
elif reachable 127.0.0.1 "$MY_PORT"; then
  echo "services: MariaDB is up on 127.0.0.1:$MY_PORT"
else
  started=0
  if command -v mariadbd >/dev/null 2>&1; then
    daemon=$(command -v mariadbd)
    echo "services: MariaDB is installed but not running on 127.0.0.1:$MY_PORT: starting it ($daemon)"
    start-stop-daemon --start --oknodo --background --exec "$daemon" && started=1
  else
    echo "services: MariaDB is not running on 127.0.0.1:$MY_PORT and is not installed here (no mariadbd)" >&2
  fi
  if [ "$started" = 1 ] && wait_for MariaDB 127.0.0.1 "$MY_PORT"; then
    echo "services: MariaDB started"
  else
    echo "services: ERROR: MariaDB/MySQL is not reachable on 127.0.0.1:$MY_PORT." >&2
    echo "  Install and start it (Debian: apt-get install mariadb-server; start-stop-daemon --start --background --exec /usr/sbin/mariadbd)," >&2
    echo "  with root and an empty password and a database test, or set CRMSYNC_MYSQL_DSN." >&2
    fail=1
  fi
fi

if [ "$fail" -ne 0 ]; then
  echo "services: the database tests cannot run; see above. (They fail rather than skip.)" >&2
  echo "services: 'make unit' runs every test that needs no database server." >&2
fi
exit $fail
