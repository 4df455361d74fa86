/**
 * sh fragments that read the pod's TCP table (/proc/net/tcp and tcp6) with builtins only, shared by
 * the proxy hold (app-connections) and the app's traffic-gone delay. Design: docs/adr/014.
 *
 * Row fields (kernel get_tcp4_sock / get_tcp6_sock): 1 sl, 2 local ADDR:PORT, 3 remote ADDR:PORT,
 * 4 state (01 ESTABLISHED, 02 SYN_SENT, 06 TIME_WAIT, 0A LISTEN), 6 timer TYPE:TICKS (hex; USER_HZ
 * ticks left, so a TIME_WAIT row tells how long ago its connection closed), 8 owner UID. Addresses are hex words in host
 * (little-endian) order, so 127.0.0.6 prints as 0600007F and ::1 as 00000000000000000000000001000000.
 */
export const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/**
 * md_rows FILE FUNC [tw]: calls FUNC LOCAL REMOTE STATE UID TIMER for every row; status 0 as soon as
 * FUNC returns 0. TIME_WAIT rows (state 06) reach FUNC only with `tw`: the others are skipped before
 * the row is split, which is most of the table in a draining pod (ADR 018). ` 06 ` is only ever the
 * state column: every other field is joined by a colon, 8 or more hex digits, or decimal without a
 * leading zero (net/ipv4/tcp_ipv4.c get_tcp4_sock, get_timewait4_sock; tcp6 likewise). The table is read whole and split in memory where the shell can: bash reads a seq_file
 * line by line by seeking back after each buffered read, and every seek regenerates the file from its
 * start (quadratic: ADR 010), so bash slurps it with one `read -d ''`; dash's and busybox's `read`
 * take one byte per read(2), which costs seconds per poll once a pod holds thousands of TIME_WAIT rows
 * (a draining Envoy closes every inbound connection after its response: ADR 018), so they slurp it
 * with `cat` where the image has one, and read it with a plain `while read` (linear) where it has not.
 */
export const SH_ROWS = `md_rows() {
  md_all=; md_fn=$2; md_keeptw=\${3-}
  if [ -n "\${BASH_VERSION-}" ]; then
    # shellcheck disable=SC3045
    { IFS= read -r -d '' md_all <"$1"; } 2>/dev/null
  else
    if [ -z "\${md_cat-}" ]; then
      if command -v cat >/dev/null 2>&1; then md_cat=y; else md_cat=n; fi
    fi
    if [ "$md_cat" = n ]; then
      { while read -r _ md_l md_rm md_st _ md_tm _ md_u _; do
          [ "$md_st" = 06 ] && [ -z "$md_keeptw" ] && continue
          "$2" "$md_l" "$md_rm" "$md_st" "$md_u" "$md_tm" && return 0
        done <"$1"; } 2>/dev/null
      return 1
    fi
    md_all=$(cat "$1" 2>/dev/null) || md_all=
  fi
  md_ifs=$IFS; IFS='
'
  set -f
  for md_row in $md_all; do
    case $md_row in *' 06 '*) [ -z "$md_keeptw" ] && continue ;; esac
    IFS=' '
    # shellcheck disable=SC2086
    set -- $md_row
    if [ "$#" -ge 8 ] && "$md_fn" "$2" "$3" "$4" "$8" "$6"; then IFS=$md_ifs; set +f; return 0; fi
  done
  IFS=$md_ifs; set +f
  return 1
}
`;

/** md_loopback HEXADDR: status 0 for 127.0.0.0/8, ::ffff:127.0.0.0/104 and ::N (::1, Istio's ::6). */
export const SH_LOOPBACK = `md_loopback() {
  case $1 in
    ??????7F|0000000000000000FFFF0000??????7F|000000000000000000000000??000000) return 0 ;;
  esac
  return 1
}
`;

/**
 * md_listen_ports: md_lports = " PORT PORT ... " (hex) of every LISTEN row in both tables, and
 * md_proc_ok=1 when a table was readable. The kernel lists listeners first (ADR 010): the scan stops
 * at the first other row.
 */
export const SH_LISTEN_PORTS = `md_lrow() {
  case $3 in
    0A) md_lports="$md_lports\${1##*:} "; return 1 ;;
    03|st) return 1 ;;
  esac
  return 0
}
md_listen_ports() {
  md_lports=' '; md_proc_ok=
  for md_file in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$md_file" ] || continue
    md_proc_ok=1
    md_rows "$md_file" md_lrow
  done
}
`;


/**
 * TIME_WAIT lasts TCP_TIMEWAIT_LEN = 60 s (include/net/tcp.h), printed in USER_HZ (100) ticks left
 * (net/ipv4/tcp_ipv4.c get_timewait4_sock): a row with T ticks left closed (6000 - T) * 10 ms ago.
 */
export const TIME_WAIT_TICKS = 6000;
export const TIME_WAIT_TICK_MS = 10;
