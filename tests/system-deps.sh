#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Python packages, when it is missing:
# Debian packages (Chromium for Playwright, Xvfb, tmux, Node.js, PostgreSQL, Redis, MariaDB)
# and the PostgreSQL / Redis / MariaDB servers. Safe to run again: it only acts on what's absent.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd chromium || need+=(chromium)
have_cmd Xvfb || need+=(xvfb)
have_cmd xvfb-run || need+=(xvfb)
have_cmd tmux || need+=(tmux)
have_cmd node || need+=(nodejs)
have_cmd pg_ctlcluster || need+=(postgresql)
have_cmd redis-server || need+=(redis-server)
have_cmd mariadbd || need+=(mariadb-server)
have_cmd xdotool || need+=(xdotool)
have_cmd bwrap || need+=(bubblewrap)  # script.python / script.javascript sandbox (issue 17)
# email / file transfer / desktop activity tests (issue 14): real Dovecot and sshd started by the
# tests themselves, xclip for the clipboard, xauth for Xvfb's cookie
have_cmd dovecot || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
have_cmd sshd || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
have_cmd ssh-keygen || need+=(openssh-client)
have_cmd xclip || need+=(xclip)
have_cmd xauth || need+=(xauth)
# the desktop tests' GUI is a tkinter app run by the test suite's Python
python3 -c "import tkinter" >/dev/null 2>&1 || need+=(python3-tk)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
# LibreOffice headless (second reader of office files, macros over UNO) and poppler's pdftotext
have_cmd soffice || need+=(libreoffice-calc-nogui libreoffice-writer-nogui libreoffice-impress-nogui)
/usr/bin/python3 -c "import uno" >/dev/null 2>&1 || need+=(python3-uno)
have_cmd pdftotext || need+=(poppler-utils)

if [ ${#need[@]} -gt 0 ]; then
  echo "system-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# PostgreSQL (127.0.0.1:5432, trust auth for local tests)
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "system-deps: starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  if [ -z "$ver" ]; then echo "no PostgreSQL cluster found" >&2; exit 1; fi
  hba="/etc/postgresql/$ver/main/pg_hba.conf"
  if ! grep -q "exekra-tests" "$hba" 2>/dev/null; then
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust # exekra-tests\nlocal all all trust # exekra-tests' "$hba"
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 -q || { echo "PostgreSQL did not come up" >&2; exit 1; }

# Redis (127.0.0.1:6379, nothing on disk)
if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  echo "system-deps: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 20); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.5; done
fi

# MariaDB (127.0.0.1:3306, root without password) for database.query tests
if ! (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; then
  echo "system-deps: starting MariaDB"
  if [ ! -d /var/lib/mysql/mysql ]; then
    $SUDO mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null 2>&1 || true
  fi
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null && break; sleep 1; done
fi
echo "system-deps: ok"
