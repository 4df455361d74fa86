// ADR 090 addendum: a call to /quitquitquit is read for the method and host the tool really sends, as
// curl, wget and `pilot-agent request` parse their arguments; pilot-agent quits only on a POST from loopback.
import { describe, expect, it } from 'vitest';
import { analyzeHook } from '../../src/analysis/analyze.js';
import { quitHost, quitOutcome, type QuitFrom } from '../../src/analysis/quit-call.js';

const URL = 'http://localhost:15020/quitquitquit';
/** pilot-agent's answer to what this exec sends: 'quits', the refusal's status, or 'none' (no call). */
const answer = (argv: string[], from: QuitFrom = 'proxy'): 'quits' | 403 | 405 | 0 | 'none' => {
  const a = quitOutcome(analyzeHook(argv).quitCalls, from);
  return a === undefined ? 'none' : a.quits ? 'quits' : a.status;
};
const sh = (script: string, from: QuitFrom = 'proxy') => answer(['sh', '-c', script], from);

describe('curl: the method as curl sends it', () => {
  it.each([
    [['curl', URL], 405],
    [['curl', '-fsS', URL], 405],
    [['curl', '-sf', '-o', '/dev/null', URL], 405],
    [['curl', '-XPOST', URL], 'quits'],
    [['curl', '-X', 'POST', URL], 'quits'],
    [['curl', '-sXPOST', URL], 'quits'],
    [['curl', '-fsSX', 'POST', URL], 'quits'],
    [['curl', '--request', 'POST', URL], 'quits'],
    [['curl', '--request=POST', URL], 'quits'],
    [['curl', '-X', 'post', URL], 405], // verbatim: Go's r.Method is "post", not "POST"
    [['curl', '-X', 'GET', URL], 405],
    [['curl', '-X', 'PUT', '-X', 'POST', URL], 'quits'], // the last -X wins
    [['curl', '-X', 'POST', '-X', 'PUT', URL], 405],
    [['curl', '-d', '', URL], 'quits'],
    [['curl', '-d', 'x=1', URL], 'quits'],
    [['curl', '-fsSd', '', URL], 'quits'],
    [['curl', '--data', '', URL], 'quits'],
    [['curl', '--data-raw', 'x', URL], 'quits'],
    [['curl', '--data-binary', '@/dev/null', URL], 'quits'],
    [['curl', '--data-urlencode', 'a=b', URL], 'quits'],
    [['curl', '--data=', URL], 'quits'],
    [['curl', '--json', '{}', URL], 'quits'],
    [['curl', '-F', 'a=b', URL], 'quits'],
    [['curl', '--form', 'a=b', URL], 'quits'],
    [['curl', '-G', '-d', 'x', URL], 405], // -G moves the data into a GET's query
    [['curl', '--get', '--data', 'x', URL], 405],
    [['curl', '-G', '-X', 'POST', '-d', 'x', URL], 'quits'], // -X replaces the method word whatever else
    [['curl', '-X', 'GET', '-d', 'x', URL], 405],
    [['curl', '-I', URL], 405],
    [['curl', '-T', '/dev/null', URL], 405],
    [['curl', '-H', 'X-Method: POST', URL], 405],
    [['curl', '-o', '-XPOST', URL], 405], // -o takes "-XPOST" as its file name
    [['curl', '--url', URL, '-XPOST'], 'quits'],
    [['/usr/bin/curl', '-XPOST', URL], 'quits'],
  ] as const)('%j → %s', (argv, want) => {
    expect(answer([...argv])).toBe(want);
  });
});

describe('wget: the method as GNU wget sends it', () => {
  it.each([
    [['wget', '-qO-', URL], 405],
    [['wget', '--post-data=', URL], 'quits'],
    [['wget', '--post-data', '', URL], 'quits'],
    [['wget', '-q', '--post-file=/dev/null', URL], 'quits'],
    [['wget', '--method=POST', URL], 'quits'],
    [['wget', '--method=post', URL], 'quits'], // wget upper-cases --method
    [['wget', '--method', 'GET', URL], 405],
    [['wget', '--method=POST', '--post-data=', URL], 0], // wget exits: --post-data cannot go with --method
  ] as const)('%j → %s', (argv, want) => {
    expect(answer([...argv])).toBe(want);
  });
});

describe('pilot-agent request <method> <path>', () => {
  it.each([
    [['pilot-agent', 'request', 'POST', 'quitquitquit'], 'quits'],
    [['pilot-agent', 'request', 'POST', '/quitquitquit'], 'quits'],
    [['/usr/local/bin/pilot-agent', 'request', '--debug-port', '15020', 'POST', 'quitquitquit'], 'quits'],
    [['pilot-agent', 'request', '--debug-port=15020', 'POST', 'quitquitquit'], 'quits'],
    [['pilot-agent', 'request', 'GET', 'quitquitquit'], 405],
    [['pilot-agent', 'request', 'post', 'quitquitquit'], 405],
    [['pilot-agent', 'request', 'POST', 'drain'], 'none'],
  ] as const)('%j → %s', (argv, want) => {
    expect(answer([...argv])).toBe(want);
  });
});

describe('in sh -c scripts', () => {
  it.each([
    ['curl -sf localhost:15020/quitquitquit', 405],
    ['curl -sf -XPOST localhost:15020/quitquitquit', 'quits'],
    ['sleep 5; curl -fsS "http://127.0.0.1:15020/quitquitquit" || true', 405],
    ['sleep 5 && curl -fsS -X POST "http://127.0.0.1:15020/quitquitquit"', 'quits'],
    ['exec curl -s -d "" http://localhost:15020/quitquitquit', 'quits'],
    ['timeout 5 curl -s http://localhost:15020/quitquitquit', 405],
    ['wget -qO- http://localhost:15020/quitquitquit', 405],
    ['wget -qO- --post-data "" http://localhost:15020/quitquitquit', 'quits'],
    // one accepted call is enough: a GET and then a POST quits
    ['curl -s localhost:15020/quitquitquit; curl -s -XPOST localhost:15020/quitquitquit', 'quits'],
    ['run-job; pilot-agent request POST quitquitquit', 'quits'],
    // another program naming the endpoint: its method is not read; counted as quitting, as before
    ['python3 -c "import urllib.request as u; u.urlopen(u.Request(\'http://localhost:15020/quitquitquit\', method=\'POST\'))"', 'quits'],
  ] as const)('%s → %s', (script, want) => {
    expect(sh(script)).toBe(want);
  });
});

describe('the host: pilot-agent checks the source address is loopback', () => {
  it.each([
    ['localhost:15020/quitquitquit', 'loopback'],
    ['http://127.0.0.1:15020/quitquitquit', 'loopback'],
    ['http://[::1]:15020/quitquitquit', 'loopback'],
    ['http://10.1.2.3:15020/quitquitquit', 'pod'],
    ['http://$(hostname -i):15020/quitquitquit', 'pod'],
    ['http://`hostname -i`:15020/quitquitquit', 'pod'],
    ['http://${POD_IP}:15020/quitquitquit', 'pod'],
    ['$INSTANCE_IP:15020/quitquitquit', 'pod'],
    ['http://$HOSTNAME:15020/quitquitquit', 'pod'],
    ['http://$HOST:15020/quitquitquit', 'unknown'],
  ] as const)('%s → %s', (url, want) => {
    expect(quitHost(url)).toBe(want);
  });
  it("the pod IP from istio-proxy's container goes through Envoy's inbound passthrough (from 127.0.0.6): quits", () => {
    expect(sh('curl -XPOST http://$(hostname -i):15020/quitquitquit', 'proxy')).toBe('quits');
    expect(answer(['curl', '-XPOST', 'http://10.1.2.3:15020/quitquitquit'], 'proxy')).toBe('quits');
  });
  it("the pod IP from an app container is not redirected: the source is the pod IP, 403, even for a POST", () => {
    expect(sh('curl -XPOST http://$(hostname -i):15020/quitquitquit', 'app')).toBe(403);
    expect(sh('curl -XPOST http://${POD_IP}:15020/quitquitquit', 'app')).toBe(403);
    expect(sh('curl -XPOST http://localhost:15020/quitquitquit', 'app')).toBe('quits');
    expect(sh('curl -XPOST http://$HOST:15020/quitquitquit', 'app')).toBe('quits');
  });
  it('says why a call does nothing', () => {
    const get = quitOutcome(analyzeHook(['curl', '-fsS', URL]).quitCalls, 'proxy');
    expect(get).toEqual({ quits: false, status: 405, why: 'curl sends a GET (no -X POST, -d, -F or --json), and /quitquitquit answers 405 (not a POST)' });
    const lower = quitOutcome(analyzeHook(['curl', '-X', 'post', URL]).quitCalls, 'proxy');
    expect(lower && !lower.quits && lower.why).toBe('curl sends a "post" (-X post), and /quitquitquit answers 405 (not a POST)');
  });
});
