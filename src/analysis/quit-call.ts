/**
 * A call to pilot-agent's (or Envoy admin's) /quitquitquit, read the way the tool that makes it sends it
 * (ADR 090 addendum): which method goes out, and to which host. Both endpoints quit only on a POST, and
 * pilot-agent only from loopback; a GET, a HEAD or a lowercase "post" is answered 405 and nothing quits.
 * Pure; `quitAnswer` is the one judgement of what the endpoint does with such a call.
 */
import { AGENT_QUIT_PATH } from '../istio/facts.js';

/** pilot-agent's quit endpoint as a word of a command (`quitquitquit`, `/quitquitquit`, a URL ending in it). */
export const QUIT_WORD = AGENT_QUIT_PATH.replace(/^\//, '');
export const mentionsQuit = (w: string): boolean => w.includes(QUIT_WORD);

/**
 * Where a call connects: `loopback` (localhost, 127/8, ::1; `pilot-agent request` always), `pod` (the
 * pod's own address: a literal non-loopback IP, `$(hostname -i)`, `$HOSTNAME`, a `$POD_IP`/`$INSTANCE_IP`
 * variable), `unknown` (any other name or variable: given the benefit of the doubt, as loopback).
 */
export type QuitHost = 'loopback' | 'pod' | 'unknown';

export interface QuitCall {
  /** curl, wget, pilot-agent, or another program (whose method is not read). */
  tool: string;
  /**
   * The request method the tool sends, verbatim (curl's -X and pilot-agent's argument are not
   * upper-cased; wget's --method is). null: a program whose method is not read, counted as quitting
   * (the evident intent). '': no request at all (wget refuses --post-data with --method).
   */
  method: string | null;
  host: QuitHost;
  /** How the method came about, for the message (`no -X POST, -d, -F or --json`, `-G`, ...). */
  how: string;
}

/** Who runs the call: istio-proxy's own container (the proxy's uid) or an app container (a Job's command). */
export type QuitFrom = 'proxy' | 'app';

export type QuitAnswer = { quits: true } | { quits: false; status: 403 | 405 | 0; why: string };

/**
 * What the endpoint does with a call (istio/istio@86c9f01 pilot/cmd/pilot-agent/status/server.go:1056-1071
 * handleQuit: 403 unless IsRequestFromLocalhost, then 405 unless the method is POST; Envoy admin
 * source/server/admin/admin.cc makeRequest: 405 for a state-mutating path such as /quitquitquit unless POST).
 * `pod` host: from istio-proxy's container (uid 1337) the connection to the pod's own address is redirected
 * into Envoy's inbound listener (tools/istio-iptables/pkg/capture/run.go:310-316) and forwarded by the
 * inbound passthrough cluster from 127.0.0.6 (pilot/pkg/networking/core/cluster_builder.go:743-772), which
 * IsRequestFromLocalhost (pkg/util/net/ip.go:94-102) takes for loopback; from an app container it is not
 * redirected (run.go:319-334: `-o lo ! --uid-owner 1337 -j RETURN`), so its source is the pod IP: 403.
 */
export function quitAnswer(call: QuitCall, from: QuitFrom): QuitAnswer {
  if (call.method === null) return { quits: true };
  if (call.method === '') return { quits: false, status: 0, why: `${call.tool} sends no request (${call.how})` };
  if (call.host === 'pod' && from === 'app')
    return { quits: false, status: 403, why: `${call.tool} connects to the pod's own address, so the request comes from the pod IP, not loopback, and pilot-agent answers 403` };
  if (call.method !== 'POST')
    return { quits: false, status: 405, why: `${call.tool} sends a ${call.method === call.method.toUpperCase() ? call.method : `"${call.method}"`} (${call.how}), and ${AGENT_QUIT_PATH} answers 405 (not a POST)` };
  return { quits: true };
}

/** The calls' combined effect: quits when any call is accepted, else the first refusal; undefined when none. */
export function quitOutcome(calls: readonly QuitCall[], from: QuitFrom): QuitAnswer | undefined {
  let refused: QuitAnswer | undefined;
  for (const c of calls) {
    const a = quitAnswer(c, from);
    if (a.quits) return a;
    refused ??= a;
  }
  return refused;
}

/** Which host a URL (or `host:port/path`) names. */
export function quitHost(url: string): QuitHost {
  let rest = url.replace(/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//, '');
  // The authority ends at the first '/' outside a $( ) or ${ } (hosts like $(hostname -i) hold none, but spaces).
  const slash = rest.indexOf(`/${QUIT_WORD}`);
  rest = slash >= 0 ? rest.slice(0, slash) : rest.split('/')[0]!;
  rest = rest.replace(/^[^@]*@/, '');
  let host: string;
  if (rest.startsWith('[')) host = rest.slice(1, rest.indexOf(']') < 0 ? undefined : rest.indexOf(']'));
  else host = rest.replace(/:(\d+|\$\{?\w+\}?)$/, '');
  host = host.toLowerCase();
  if (host === 'localhost' || host === 'localhost.' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1') return 'loopback';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || (host.includes(':') && /^[0-9a-f:.]+$/.test(host))) return host === '0.0.0.0' || host === '::' ? 'unknown' : 'pod';
  if (/^(\$\(|`)\s*hostname(\s+-[iI]\S*)?\s*(\)|`)$/.test(host)) return 'pod';
  if (/^\$\{?(\w*pod_?ip\w*|\w*instance_ip\w*|hostname)\}?$/.test(host)) return 'pod';
  return 'unknown';
}

// curl's options that take an argument (curl/curl@5c61e16 src/tool_getparam.c:77-379, the aliases table:
// ARG_STRG, ARG_FILE, ARG_SECS, ARG_UNUM), so that a value is never read as an option.
const CURL_SHORT_WITH_ARG = new Set('ACDEFHKPQTUXYbcdehmortuwxyz');
const CURL_LONG_WITH_ARG = new Set(
  ('abstract-unix-socket alt-svc aws-sigv4 cacert capath cert cert-type ciphers config connect-timeout connect-to ' +
    'continue-at cookie cookie-jar create-file-mode crlfile curves data data-ascii data-binary data-raw data-urlencode ' +
    'delegation dns-interface dns-ipv4-addr dns-ipv6-addr dns-servers doh-url dump-header ech egd-file engine ' +
    'etag-compare etag-save expect100-timeout form form-string ftp-account ftp-alternative-to-user ftp-method ftp-port ' +
    'ftp-ssl-ccc-mode happy-eyeballs-timeout-ms haproxy-clientip header help hostpubmd5 hostpubsha256 hsts httpsig-algo ' +
    'httpsig-headers httpsig-key httpsig-keyid interface ip-tos ipfs-gateway json keepalive-cnt keepalive-time key ' +
    'key-type knownhosts krb krb4 libcurl limit-rate local-port login-options mail-auth mail-from mail-rcpt max-filesize ' +
    'max-redirs max-time netrc-file noproxy oauth2-bearer output output-dir parallel-max parallel-max-host pass ' +
    'pinnedpubkey preproxy proto proto-default proto-redir proxy proxy-cacert proxy-capath proxy-cert proxy-cert-type ' +
    'proxy-ciphers proxy-crlfile proxy-header proxy-key proxy-key-type proxy-pass proxy-pinnedpubkey proxy-service-name ' +
    'proxy-tls13-ciphers proxy-tlsauthtype proxy-tlspassword proxy-tlsuser proxy-user pubkey quote random-file range ' +
    'rate referer request request-target resolve retry retry-delay retry-max-time sasl-authzid service-name sigalgs ' +
    'socks4 socks4a socks5 socks5-gssapi-service socks5-hostname speed-limit speed-time ssl-sessions stderr ' +
    'telnet-option tftp-blksize time-cond tls-max tls13-ciphers tlsauthtype tlspassword tlsuser trace trace-ascii ' +
    'trace-config unix-socket upload-file upload-flags url url-query user user-agent variable vlan-priority write-out').split(' '),
);
/** curl's options that set POST data (tool_operate.c: postfields make a SIMPLEPOST unless --get). */
const CURL_DATA = new Set(['data', 'data-ascii', 'data-binary', 'data-raw', 'data-urlencode', 'json']);
const CURL_FORM = new Set(['form', 'form-string']);

/**
 * curl's method (curl/curl@5c61e16): `-X`/`--request` replaces the method word whatever else is set, the
 * last one winning (docs/cmdline-opts/request.md; tool_getparam.c C_REQUEST); otherwise `-I` is a HEAD,
 * data (`-d`, `--data*`, `--json`) a POST unless `-G`/`--get` moves it into a GET's query (tool_operate.c
 * around :1502), `-F`/`--form*` a POST, `-T` a PUT, and nothing a GET. Long options take `--opt value` or,
 * since curl 8.16.0, `--opt=value` (tool_getparam.c getparameter, "is there an '=' ?"); short ones combine
 * (`-sXPOST`: the first letter that takes an argument takes the rest of the word, or the next word).
 */
function curlCall(args: readonly string[], url: string): QuitCall {
  let request: string | undefined;
  let head = false;
  let get = false;
  let data = false;
  let form = false;
  let upload = false;
  const long = (name: string, value: string | undefined): void => {
    if (name === 'request' && value !== undefined) request = value;
    else if (name === 'head') head = true;
    else if (name === 'get') get = true;
    else if (name === 'no-get') get = false;
    else if (CURL_DATA.has(name)) data = true;
    else if (CURL_FORM.has(name)) form = true;
    else if (name === 'upload-file') upload = true;
  };
  const SHORT_LONG: Record<string, string> = { X: 'request', I: 'head', G: 'get', d: 'data', F: 'form', T: 'upload-file' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      let value: string | undefined;
      if (eq > 0) value = a.slice(eq + 1);
      else if (CURL_LONG_WITH_ARG.has(name)) value = args[++i];
      long(name, value);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const letter = a[j]!;
        if (CURL_SHORT_WITH_ARG.has(letter)) {
          const value = j + 1 < a.length ? a.slice(j + 1) : args[++i];
          if (SHORT_LONG[letter]) long(SHORT_LONG[letter], value);
          break;
        }
        if (SHORT_LONG[letter]) long(SHORT_LONG[letter], undefined);
      }
    }
  }
  const host = quitHost(url);
  if (request !== undefined) return { tool: 'curl', method: request, host, how: `-X ${request}` };
  if (head) return { tool: 'curl', method: 'HEAD', host, how: '-I' };
  if (data) return get ? { tool: 'curl', method: 'GET', host, how: '-G puts the -d data in the query' } : { tool: 'curl', method: 'POST', host, how: '-d' };
  if (form) return { tool: 'curl', method: 'POST', host, how: '-F' };
  if (upload) return { tool: 'curl', method: 'PUT', host, how: '-T' };
  return { tool: 'curl', method: 'GET', host, how: 'no -X POST, -d, -F or --json' };
}

/**
 * GNU wget's method (mirror/wget@8775506 src/main.c:1833-1880, src/init.c:262): `--post-data`/`--post-file`
 * make a POST, and wget exits before any request when either comes with `--method`; `--method` is
 * upper-cased (cmd_string_uppercase); otherwise a GET. getopt_long takes `--opt=value` and `--opt value`.
 */
function wgetCall(args: readonly string[], url: string): QuitCall {
  let method: string | undefined;
  let post = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--(method|post-data|post-file)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const value = m[2] ?? args[++i];
    if (m[1] === 'method') method = (value ?? '').toUpperCase();
    else post = true;
  }
  const host = quitHost(url);
  if (post && method !== undefined) return { tool: 'wget', method: '', host, how: 'it refuses --post-data or --post-file with --method' };
  if (post) return { tool: 'wget', method: 'POST', host, how: '--post-data' };
  if (method !== undefined) return { tool: 'wget', method, host, how: `--method=${method}` };
  return { tool: 'wget', method: 'GET', host, how: 'no --post-data, --post-file or --method=POST' };
}

/**
 * `pilot-agent request <method> <path> [<body>]` (istio/istio@86c9f01 pilot/cmd/pilot-agent/app/request.go:42-70):
 * to localhost:15000 (Envoy's admin) unless `--debug-port` (15020: pilot-agent); the method verbatim
 * (pilot/pkg/request/command.go:32-36, http.NewRequest). Both endpoints quit only on a POST.
 */
function pilotAgentCall(args: readonly string[]): QuitCall | undefined {
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-')) {
      if (!a.includes('=') && /^--?debug-port$/.test(a)) i++;
      continue;
    }
    rest.push(a);
  }
  const path = (rest[1] ?? '').replace(/^\/+/, '').split('?')[0];
  if (path !== QUIT_WORD) return undefined;
  return { tool: 'pilot-agent request', method: rest[0]!, host: 'loopback', how: `its method argument ${rest[0]}` };
}

const WRAPPERS = new Set(['exec', 'command', 'env', 'busybox', 'nohup', 'timeout']);

/**
 * The quit call a command makes, if it names the endpoint: `tool` its program (base name), `args` its
 * arguments (after the program). pilot-agent: only `request` with the quit path counts.
 */
export function quitCallOf(tool: string, args: readonly string[]): QuitCall | undefined {
  // A wrapper runs the command after it: `exec curl …`, `env A=b curl …`, `busybox wget …`, `timeout 5 curl …`.
  if (WRAPPERS.has(tool)) {
    let i = 0;
    while (i < args.length && (args[i]!.startsWith('-') || /^\w+=/.test(args[i]!) || (tool === 'timeout' && /^\d/.test(args[i]!)))) i++;
    if (i < args.length) return quitCallOf(args[i]!.replace(/^.*\//, ''), args.slice(i + 1));
  }
  if (tool === 'pilot-agent') return args.includes('request') ? pilotAgentCall(args.slice(args.indexOf('request') + 1)) : undefined;
  const url = args.find(mentionsQuit);
  if (url === undefined && !mentionsQuit(tool)) return undefined;
  if (tool === 'curl' && url !== undefined) return curlCall(args, url);
  if (tool === 'wget' && url !== undefined) return wgetCall(args, url);
  return { tool, method: null, host: 'unknown', how: 'not read' };
}
