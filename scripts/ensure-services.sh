#!/usr/bin/env bash
# Makes sure the databases the tests use are reachable: PostgreSQL on
# 127.0.0.1:5432 (user postgres, trust auth, database test) and MariaDB or
# MySQL on 127.0.0.1:3306 (root, no password, database test). It starts
# them when they are installed but stopped, and otherwise says loudly what
# is missing. Point the tests elsewhere with CRMSYNC_PG_DSN and
# CRMSYNC_MYSQL_DSN.
set -u

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {
  local host=$1 port=$2
  for _ in $(seq 1 30); do
    reachable "$host" "$port" && return 0
    sleep 1
  done
  return 1
}

fail=0

if [ -n "${CRMSYNC_PG_DSN:-}" ]; then
  echo "services: using CRMSYNC_PG_DSN from the environment"
elif reachable 127.0.0.1 5432; then
  echo "services: PostgreSQL is up on 127.0.0.1:5432"
else
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  if wait_for 127.0.0.1 5432; then
    echo "services: PostgreSQL started"
  else
    echo "services: ERROR: PostgreSQL is not reachable on 127.0.0.1:5432 and could not be started." >&2
    echo "  Install and start it (Debian: apt-get install postgresql; pg_ctlcluster 15 main start)," >&2
    echo "  allow trust auth for user postgres and create database test, or set CRMSYNC_PG_DSN." >&2
    fail=1
  fi
fi

if [ -n "${CRMSYNC_MYSQL_DSN:-}" ]; then
  echo "services: using CRMSYNC_MYSQL_DSN from the environment"
elif reachable 127.0.0.1 3306; then
  echo "services: MariaDB is up on 127.0.0.1:3306"
else
  if command -v mariadbd >/dev/null 2>&1; then
    echo "services: starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  if wait_for 127.0.0.1 3306; then
    echo "services: MariaDB started"
  else
    echo "services: ERROR: MariaDB/MySQL is not reachable on 127.0.0.1:3306 and could not be started." >&2
    echo "  Install and start it (Debian: apt-get install mariadb-server; start-stop-daemon --start --background --exec /usr/sbin/mariadbd)," >&2
    echo "  with root and an empty password and a database test, or set CRMSYNC_MYSQL_DSN." >&2
    fail=1
  fi
fi

if [ "$fail" -ne 0 ]; then
  echo "services: the database tests cannot run; see above. (They fail rather than skip.)" >&2
fi
exit $fail
