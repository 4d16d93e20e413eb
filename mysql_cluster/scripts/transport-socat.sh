# shellcheck shell=bash
# The clone port's transport through socat (every flavor seeded by a backup stream: MariaDB, whose images,
# the official ones included, carry socat). Sourced by transport.sh, which holds the credential, the
# protocol and the verdict it shares with transport-openssl.sh.
#
# Streams: socat relays in blocks of TRANSPORT_BLOCK bytes (128 KiB; its default of 8 KiB cost a third more
# CPU per GiB through TLS, measured on this project's machine: 1 GiB in 0.63 s instead of 0.94-1.03 s).

TRANSPORT_BLOCK=131072

transport_tls_options() { # the socat OPENSSL options both ends use
  local pem crt
  read -r pem crt <<<"$(transport_files)"
  printf 'cert=%s,cafile=%s,verify=1,commonname=%s,openssl-min-proto-version=TLS1.3' "$pem" "$crt" \
    "$CLONE_TLS_NAME"
}

transport_socat_listen() { # <port> <handshake seconds>: socat in the background; sets TRANSPORT_LISTENER_PID
  local port=$1 handshake=$2
  # -U: nothing the peer sends reaches the per-connection script. -d -d: socat's connection log, which
  # transport_relay_log turns into one line per refused connection. socat has no handshake timeout: a
  # receive timeout on the socket (SO_RCVTIMEO) ends a handshake that stalls; the donor never reads after it.
  # shellcheck disable=SC2016 # expanded by the shell socat starts for each connection
  socat -d -d -U -b "$TRANSPORT_BLOCK" "OPENSSL-LISTEN:$port,reuseaddr,fork,$(transport_receive_timeout "$handshake"),$(
    transport_tls_options)" SYSTEM:'exec bash "$CLUSTER_CONFIG_DIR/transport.sh" serve-connection' \
    2> >(transport_relay_log) &
  # shellcheck disable=SC2034 # read by the sourcing script
  TRANSPORT_LISTENER_PID=$!
}

transport_receive_timeout() { # <seconds>: socat's option setting SO_RCVTIMEO (Linux, 64-bit: SOL_SOCKET=1,
  # SO_RCVTIMEO=20 on amd64 and arm64, struct timeval = two little-endian 64-bit integers)
  local seconds=$1 hex='' byte i
  for ((i = 0; i < 8; i++)); do
    printf -v byte '%02x' $(((seconds >> (8 * i)) & 255))
    hex+=$byte
  done
  printf 'setsockopt-bin=1:20:x%s0000000000000000' "$hex"
}

transport_relay_log() { # stdin: socat's log; logs refused connections and socat's warnings and errors
  # The listener logs "accepting connection from <peer>" then "forked off child process <pid>"; the child's
  # handshake error may reach the pipe before or after that second line.
  local line pid level message child listener='' last_peer='' pattern
  local -A peers=() early=() authenticated=()
  pattern='socat\[([0-9]+)\] ([DINWEF]) (.*)$'
  while IFS= read -r line; do
    if [[ ! $line =~ $pattern ]]; then
      printf '%s\n' "$line" >&2 # the per-connection scripts' own log lines
      continue
    fi
    pid=${BASH_REMATCH[1]} level=${BASH_REMATCH[2]} message=${BASH_REMATCH[3]}
    if [[ -z $listener && $message == 'listening on '* ]]; then
      listener=$pid
    elif [[ $pid == "$listener" ]]; then
      if [[ $message =~ ^accepting\ connection\ from\ AF=[0-9]+\ (.*)\ on ]]; then
        last_peer=${BASH_REMATCH[1]}
      elif [[ $message =~ ^forked\ off\ child\ process\ ([0-9]+) ]]; then
        child=${BASH_REMATCH[1]}
        if [[ -n ${early[$child]:-} ]]; then
          transport_log_refusal "$last_peer" "${early[$child]}"
          unset "early[$child]"
        else
          peers[$child]=$last_peer
        fi
      elif [[ $level == [WEF] ]]; then
        log "socat: $message"
      fi
    elif [[ $message == 'starting data transfer loop'* ]]; then
      authenticated[$pid]=1 # the per-connection script logs from here on
      unset "peers[$pid]"
    elif [[ $level == [EF] && -z ${authenticated[$pid]:-} ]]; then
      if [[ -n ${peers[$pid]:-} ]]; then
        transport_log_refusal "${peers[$pid]}" "$message"
        unset "peers[$pid]"
      elif [[ -z ${early[$pid]:-} ]]; then
        early[$pid]=$message
      fi
    elif [[ $level == [WEF] ]]; then
      log "socat: $message"
    elif [[ $message == exit* ]]; then
      unset "authenticated[$pid]"
    fi
  done
}

transport_socat_fetch() { # <host> <port> <idle seconds>: the donor's answer and stream on stdout
  socat -u -b "$TRANSPORT_BLOCK" -T "$3" "OPENSSL:$1:$2,connect-timeout=10,$(transport_tls_options)" STDOUT
}
