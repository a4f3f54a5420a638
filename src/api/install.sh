#!/bin/sh
# OpenAssist agent installer (POSIX sh; busybox sh works). docs/install.md explains it line by line.
#   curl -fsSL SERVER/agent/install.sh | OPENASSIST_ACTIVATION_CODE=CODE sh -s -- --activation-id ID
# Options: --activation-id ID, --activation-code CODE (visible in ps: prefer the environment),
#   --server URL[,URL...] (a cluster), --ca FILE (private CA of an https:// server),
#   --uninstall [--deregister]. Run it again to upgrade in place.
set -eu

server='@SERVER_URL@' # the server that served this script
activation_id='' ca='' action=install deregister=no server_given=no
code=${OPENASSIST_ACTIVATION_CODE:-}
unset OPENASSIST_ACTIVATION_CODE # no child process inherits the code
bin=/usr/local/bin/openassist-agent
state=/var/lib/openassist
unit=/etc/systemd/system/openassist-agent.service
wait_s=${OPENASSIST_INSTALL_WAIT_S:-90}

say() { printf 'openassist-install: %s\n' "$*"; }
die() { say "error: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# Downloads $1 to $2 with curl, else wget; a private CA (--ca) is trusted for https.
fetch() {
  if have curl; then curl -fsS ${ca:+--cacert "$ca"} -o "$2" "$1"
  elif have wget; then
    case $1 in https://*)
      # busybox wget does not verify certificates, and the checksum comes over the same link.
      if wget --help 2>&1 | grep -q BusyBox; then die 'busybox wget cannot verify an https server: install curl'; fi ;;
    esac
    wget -q ${ca:+--ca-certificate="$ca"} -O "$2" "$1"
  else die 'curl or wget is needed'; fi
}

# Downloads the agent for this machine to $new and checks it against the server's SHA-256.
new=$bin.new.$$ # beside $bin: the final mv is an atomic rename
trap 'rm -f "$new" "$new.sha256" "$unit.new"' EXIT
download() {
  case $(uname -m) in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "no agent build for $(uname -m)" ;;
  esac
  name=openassist-agent-linux-$arch
  first=${server%%,*} # every node of a cluster serves the same build
  first=${first%/}
  have sha256sum || die 'sha256sum is needed (coreutils or busybox)'
  mkdir -p "${bin%/*}"
  say "downloading $name from $first"
  fetch "$first/agent/download/$name.sha256" "$new.sha256"
  fetch "$first/agent/download/$name" "$new"
  want=$(cut -d' ' -f1 <"$new.sha256")
  got=$(sha256sum "$new" | cut -d' ' -f1)
  [ -n "$want" ] && [ "$want" = "$got" ] || die "checksum mismatch for $name: got $got, the server says $want"
  chmod 0755 "$new"
}

# Everything runs from here, once the whole script has arrived: a download cut short runs nothing.
main() {
  while [ $# -gt 0 ]; do
    case $1 in
      --activation-id|--activation-code|--server|--ca) [ $# -ge 2 ] || die "$1 needs a value" ;;
    esac
    case $1 in
      --activation-id) activation_id=$2; shift ;;
      --activation-code) code=$2; shift ;;
      --server) server=$2; server_given=yes; shift ;;
      --ca) ca=$2; shift ;;
      --uninstall) action=uninstall ;;
      --deregister) deregister=yes ;;
      *) die "unknown option $1" ;;
    esac
    shift
  done
  [ "$(id -u)" = 0 ] || die 'run me as root (the agent runs scripts as any user)'
  # systemd is running when this directory exists (what sd_booted() checks).
  systemd=no; if [ -d /run/systemd/system ] && have systemctl; then systemd=yes; fi

  if [ "$action" = uninstall ]; then
    if [ "$systemd" = yes ] && [ -f "$unit" ]; then
      systemctl disable --now openassist-agent.service # the agent ends its running scripts as it stops
    fi
    if [ "$deregister" = yes ] && [ -f "$state/identity.json" ]; then
      if [ -z "$ca" ] && [ -f "$state/ca.pem" ]; then ca=$state/ca.pem; fi
      # The server of the install unless --server names another; the agent's token proves who asks.
      if [ "$server_given" = no ]; then server=$(cat "$state/server"); fi
      agent=$bin
      if [ ! -x "$agent" ]; then download; agent=$new; fi # removed by an earlier --uninstall
      "$agent" --deregister --state-dir "$state" --server "$server" ${ca:+--ca "$ca"}
      rm -rf "$state" # the identity is void now; the journal goes with it
    fi
    rm -f "$unit" "$bin"
    if [ "$systemd" = yes ]; then systemctl daemon-reload; fi
    if [ -d "$state" ]; then say "uninstalled; identity and journal kept in $state"; else say uninstalled; fi
    exit 0
  fi

  download
  mkdir -p "${state%/*}" "${unit%/*}"
  umask 077 # every file from here on is root's alone
  mkdir -p "$state"
  chmod 0700 "$state"
  printf '%s\n' "$server" >"$state/server" # for --uninstall --deregister
  if [ -n "$ca" ]; then cp "$ca" "$state/ca.pem"; fi
  args=''
  if [ -f "$state/identity.json" ]; then
    say 'already registered: upgrading in place (identity and journal kept)'
  else
    [ -n "$activation_id" ] && [ -n "$code" ] ||
      die 'a first install needs --activation-id ID and the code in OPENASSIST_ACTIVATION_CODE'
    # printf is a shell builtin: the code is on no command line. The agent deletes the file once registered.
    printf '%s\n' "$code" >"$state/activation-code"
    args=" --activation-id $activation_id --activation-code-file $state/activation-code"
  fi
  command="$bin --server $server --state-dir $state${ca:+ --ca $state/ca.pem}$args"

  if [ "$systemd" = no ]; then
    mv -f "$new" "$bin"
    say 'systemd is not running here: run the agent under your supervisor with'
    say "  $command"
    exit 0
  fi
  umask 022
  cat >"$unit.new" <<EOF
# Written by the OpenAssist installer (docs/install.md).
[Unit]
Description=OpenAssist agent (Cloud Assistant compatible)
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=$command
Restart=always
RestartSec=5
# The agent alone signals the scripts it runs (each in its own process group): on stop it ends
# them and reports them Terminated; after a crash the restarted agent reports them interrupted.
KillMode=process
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
EOF
  # Same executable and unit as installed: nothing to restart, running tasks go on.
  if cmp -s "$new" "$bin" && cmp -s "$unit.new" "$unit"; then changed=no; else changed=yes; fi
  mv -f "$new" "$bin"
  mv -f "$unit.new" "$unit"
  systemctl daemon-reload
  systemctl enable openassist-agent.service
  if [ "$changed" = yes ]; then
    rm -f "$state/status" # the agent writes it: "connected mi-..." once its channel is open
    systemctl restart openassist-agent.service
  else
    say 'already up to date'
    grep -q '^connected ' "$state/status" 2>/dev/null || rm -f "$state/status" # not a stale failure
    systemctl start openassist-agent.service
  fi

  # Waits for the agent's status file; a refused registration is written there too.
  deadline=$(($(date +%s) + wait_s))
  while :; do
    status=$(cat "$state/status" 2>/dev/null || true)
    case $status in
      connected\ *) say "connected as ${status#connected }"; exit 0 ;;
      failed\ *)
        systemctl disable --now openassist-agent.service
        rm -f "$state/activation-code"
        die "${status#failed }" ;;
    esac
    [ "$(date +%s)" -lt "$deadline" ] ||
      die "the agent did not connect within $wait_s s (it keeps trying): journalctl -u openassist-agent"
    sleep 0.2 2>/dev/null || sleep 1
  done
}

main "$@"
