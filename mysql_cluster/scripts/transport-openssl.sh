# shellcheck shell=bash
# The clone port's transport on flavors seeded by the CLONE plugin (SEEDING=clone-plugin: MySQL), with
# nothing but `openssl`: the official mysql images carry no socat (nor ncat, python or perl), and there the
# port carries one question and one answer, never a backup (the donor's server serves the CLONE itself).
# Sourced by transport.sh, which holds the credential, the protocol and the verdict it shares with socat.
#
# Donor: one `openssl s_server` per connection (-naccept 1), started again as each one ends: mutual TLS 1.3
# with the cluster's credential, like socat's (-Verify: a peer must present a certificate, and only the
# cluster's verifies). After the handshake the recipient writes "<protocol> HELLO <pod>"; the verdict of
# transport.sh serve-connection goes back as the only line, then the connection closes. A peer that opens a
# connection and does not complete the handshake and its HELLO within CLONE_HANDSHAKE_TIMEOUT is cut off.
# One connection at a time: a recipient that meets the port between two servers, or while one answers
# (a fraction of a second), finds it refusing and asks again for up to 3 s (transport_openssl_fetch).
# s_server does not say who connected: the peer's address is read from /proc (the connection's socket among
# the server's file descriptors), so refusals name it as socat's do, unless the peer hung up before it could
# be read (within milliseconds: "a peer gone before its address was read").
#
# Recipient: `openssl s_client`, the same credential and the cluster's name checked; it sends HELLO and
# reads the answer (transport_receive).

CLONE_HELLO=HELLO

transport_openssl_listen() { # <port> <handshake seconds>: serves until killed (run in the background)
  local port=$1 handshake=$2 failures=0
  TRANSPORT_OPENSSL_SERVER_PID=
  trap 'transport_openssl_stop; exit 0' TERM INT
  while :; do
    if transport_openssl_accept "$port" "$handshake"; then
      failures=0
    else
      # s_server could not listen (port taken, credential unreadable): said once, retried every 5 s.
      ((failures++ > 0)) || log "openssl s_server could not serve port $port; trying again every 5 s"
      sleep 5
    fi
  done
}

transport_openssl_stop() {
  [[ -n ${TRANSPORT_OPENSSL_SERVER_PID:-} ]] && kill "$TRANSPORT_OPENSSL_SERVER_PID" 2>/dev/null
  return 0
}

transport_openssl_accept() { # <port> <handshake seconds>: one connection; status 1 when s_server never listened
  local port=$1 handshake=$2 pem crt line deadline='' peer='' hello='' errors='' wait_for status=0 out in
  local coproc_out coproc_in
  read -r pem crt <<<"$(transport_files)"
  # -quiet: nothing but the peer's bytes and (-state, -verify) the handshake's progress reach stdout; stdin
  # is not read for s_server's commands. Its standard error joins stdout: the order of errors matters.
  coproc TRANSPORT_SERVER {
    exec openssl s_server -quiet -state -accept "$port" -naccept 1 -tls1_3 -cert "$pem" -CAfile "$crt" \
      -Verify 1 -verify_return_error 2>&1
  }
  TRANSPORT_OPENSSL_SERVER_PID=$TRANSPORT_SERVER_PID
  # Copies of the coprocess's pipes, the originals closed: bash closes its own as soon as it reaps s_server,
  # which may be before its last lines are read; and s_server must see its input end after the answer.
  coproc_out=${TRANSPORT_SERVER[0]} coproc_in=${TRANSPORT_SERVER[1]}
  exec {out}<&"$coproc_out" {in}>&"$coproc_in" {coproc_out}<&- {coproc_in}>&-
  while :; do
    wait_for=3600
    if [[ -n $deadline ]]; then
      wait_for=$((deadline - SECONDS))
      if ((wait_for <= 0)); then
        errors="no TLS handshake and greeting within ${handshake}s"
        break
      fi
    fi
    status=0
    IFS= read -r -t "$wait_for" -u "$out" line || status=$?
    ((status > 128)) && continue # timed out: the deadline decides
    ((status == 0)) || break     # s_server ended
    case $line in
      'SSL_accept:before SSL initialization')
        deadline=$((SECONDS + handshake))
        peer=$(transport_openssl_peer "$TRANSPORT_OPENSSL_SERVER_PID" "$port")
        ;;
      "$CLONE_PROTOCOL $CLONE_HELLO "*)
        hello=${line#"$CLONE_PROTOCOL $CLONE_HELLO "}
        hello=$(one_line "${hello:0:64}")
        # Named as socat's listener names a peer (its address), then the pod its HELLO says it is.
        TRANSPORT_PEER="${peer:-unknown} (${hello:-no name})" \
          bash "$CLUSTER_CONFIG_DIR/transport.sh" serve-connection >&"$in" || true
        break
        ;;
      *:error:*) [[ -n $errors ]] || errors=$line ;; # the first: OpenSSL's later ones follow from it
    esac
  done
  # Closing s_server's input ends the connection cleanly after the answer (close_notify); a peer that
  # never greeted is cut off.
  exec {in}>&-
  [[ -n $hello ]] || kill "$TRANSPORT_OPENSSL_SERVER_PID" 2>/dev/null || true
  # Whatever s_server still prints (its closing lines) is drained, so it never blocks on a full pipe.
  while IFS= read -r -t 10 -u "$out" line; do
    [[ -z $hello && -z $errors && $line == *:error:* ]] && errors=$line
  done
  exec {out}<&-
  kill "$TRANSPORT_OPENSSL_SERVER_PID" 2>/dev/null || true # one that never ended (10 s silent) is ended now
  wait "$TRANSPORT_OPENSSL_SERVER_PID" 2>/dev/null || true
  TRANSPORT_OPENSSL_SERVER_PID=
  if [[ -z $deadline ]]; then
    [[ -z $errors ]] || log "openssl s_server: $(one_line "$errors")"
    return 1 # it never accepted a connection
  fi
  [[ -n $hello ]] || transport_log_refusal "${peer:-a peer gone before its address was read}" \
    "$(one_line "${errors:-no greeting}")"
  return 0
}

transport_openssl_peer() { # <pid> <port>: "<address>:<port>" of that process's connection on <port>
  # The connection's socket among the process's descriptors; once s_server has closed it (a peer that hung
  # up at once), the one connection on <port> the kernel still shows (s_server accepts one at a time),
  # neither listening nor in TIME_WAIT (what earlier connections leave). Empty when it is gone.
  local pid=$1 port inodes=' ' link table sl local_address remote_address state inode rest orphan=''
  printf -v port '%04X' "$2"
  while read -r link; do # one `ls` for every descriptor: the peer may hang up within milliseconds
    [[ $link =~ socket:\[([0-9]+)\]$ ]] && inodes+="${BASH_REMATCH[1]} "
  done < <(ls -l "/proc/$pid/fd" 2>/dev/null)
  for table in /proc/net/tcp /proc/net/tcp6; do
    [[ -r $table ]] || continue
    # shellcheck disable=SC2034 # sl and rest: columns read past
    while read -r sl local_address remote_address state _ _ _ _ _ inode rest; do
      [[ ${local_address##*:} == "$port" && $state != 0A && $state != 06 ]] || continue
      if [[ $inodes == *" $inode "* ]]; then
        transport_openssl_address "$remote_address"
        return 0
      fi
      [[ $inode == 0 ]] && orphan=$remote_address
    done <"$table"
  done
  [[ -z $orphan ]] || transport_openssl_address "$orphan"
}

transport_openssl_address() { # <hex address:port from /proc/net/tcp*>: printed as socat prints a peer
  local hex=${1%%:*} port=$((16#${1##*:})) word i bytes=() groups=()
  for ((i = 0; i < ${#hex}; i += 8)); do # 32-bit words in host (little-endian) order
    word=${hex:i:8}
    bytes+=("${word:6:2}" "${word:4:2}" "${word:2:2}" "${word:0:2}")
  done
  if ((${#bytes[@]} == 16)) && [[ ${bytes[*]:0:12} == '00 00 00 00 00 00 00 00 00 00 FF FF' ]]; then
    bytes=("${bytes[@]:12}") # an IPv4 peer of an IPv6 socket
  fi
  if ((${#bytes[@]} == 4)); then
    printf '%d.%d.%d.%d:%d' "0x${bytes[0]}" "0x${bytes[1]}" "0x${bytes[2]}" "0x${bytes[3]}" "$port"
    return
  fi
  for ((i = 0; i < 16; i += 2)); do groups+=("$(printf '%x' "0x${bytes[i]}${bytes[i + 1]}")"); done
  local IFS=:
  printf '[%s]:%d' "${groups[*]}" "$port"
}

transport_openssl_fetch() { # <host> <port> <seconds>: the donor's answer on stdout, errors on stderr
  # The donor serves one connection at a time and starts a new s_server after each: a connection it did
  # not take is tried again for up to 3 s before it counts (a donor that does not listen costs that much).
  local host=$1 port=$2 limit=$3 pem crt answer status attempt errors=$RUN_DIR/clone-openssl-errors
  read -r pem crt <<<"$(transport_files)"
  [[ $host == *:* ]] && host="[$host]"
  for ((attempt = 1; ; attempt++)); do
    status=0
    # -quiet implies -ign_eof: s_client reads on after sending HELLO until the donor closes.
    answer=$(printf '%s %s %s\n' "$CLONE_PROTOCOL" "$CLONE_HELLO" "$POD_NAME" |
      timeout "$limit" openssl s_client -quiet -connect "$host:$port" -tls1_3 -cert "$pem" -CAfile "$crt" \
        -verify_return_error -verify_hostname "$CLONE_TLS_NAME" -verify_quiet 2>"$errors") || status=$?
    # Refused between two servers; reset (or closed before the handshake) when it was queued behind the
    # connection the last server served. An alert (a wrong credential) is not asked again.
    if ((status != 0)) && [[ -z $answer ]] && ((attempt < 15)) &&
      grep -qiE 'connection refused|connection reset|errno=104|unexpected eof' "$errors"; then
      sleep 0.2
      continue
    fi
    break
  done
  cat "$errors" >&2
  rm -f "$errors"
  [[ -z $answer ]] || printf '%s\n' "$answer"
  return "$status"
}
