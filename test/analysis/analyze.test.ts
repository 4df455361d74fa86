/** Hook-script analysis: the seed hooks, meshdrain's own generated hold, and shell constructs that fool naive parsers. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { holdExecCommand } from '../../src/hooks/hold.js';
import { analyzeHook, sleepArgMs } from '../../src/analysis/analyze.js';
import { quitOutcome } from '../../src/analysis/quit-call.js';
import { simpleCommands, tokenize } from '../../src/analysis/shell-words.js';

const sh = (script: string) => analyzeHook(['/bin/sh', '-c', script]);
const SEED001 = 'while [ $(netstat -plunt | grep tcp | grep -v envoy | wc -l | xargs) -ne 0 ]; do sleep 30; done';
const SEED000 = 'while [ "$(netstat -plunt | grep tcp | grep -v envoy | grep -v pilot-agent | wc -l | xargs)" != "0" ]; do sleep 1; done';
const SEED004 = 'while [ 1==1 ]; do netstat -tulpn | grep LISTEN | grep :8080; if [ $? -gt 0 ]; then break; fi; sleep 1; done';

describe('seed hooks', () => {
  it('seed 001 (template preStop): netstat, envoy-only filter, 30 s per turn, unbounded', () => {
    const a = sh(SEED001);
    expect(a.fragile.map((f) => f.tool)).toEqual(['netstat']);
    expect(SEED001.slice(a.fragile[0]!.offset, a.fragile[0]!.offset + 7)).toBe('netstat');
    expect(a.loops).toHaveLength(1);
    const l = a.loops[0]!;
    expect(l.envoyOnlyFilter).not.toBeNull();
    expect(SEED001.slice(l.envoyOnlyFilter!.offset, l.envoyOnlyFilter!.offset + 4)).toBe('grep');
    expect(l.sleepPerTurnMs).toBe(30_000);
    expect(l.boundMs).toBeNull();
    expect(a.maxHoldMs).toBeNull();
    expect(a.waits).toBe(true);
  });
  it('seed 000 (entrypoint loop): filters pilot-agent too, so not envoy-only; 1 s turns', () => {
    const a = sh(SEED000);
    expect(a.loops[0]!.envoyOnlyFilter).toBeNull();
    expect(a.loops[0]!.sleepPerTurnMs).toBe(1000);
    expect(a.fragile.map((f) => f.tool)).toEqual(['netstat']);
  });
  it('seed 004 (port hook): port-specific grep, not envoy-only; netstat is fragile', () => {
    const a = sh(SEED004);
    expect(a.loops[0]!.envoyOnlyFilter).toBeNull();
    expect(a.loops[0]!.socketTool?.tool).toBe('netstat');
    expect(a.fragile.map((f) => f.tool)).toEqual(['netstat']);
  });
});

describe('bounds and sleeps', () => {
  it('parses sleep arguments with suffixes, refuses variables', () => {
    expect(sleepArgMs('5')).toBe(5000);
    expect(sleepArgMs('0.2')).toBe(200);
    expect(sleepArgMs('.5')).toBe(500);
    expect(sleepArgMs('2m')).toBe(120_000);
    expect(sleepArgMs('1h')).toBe(3_600_000);
    expect(sleepArgMs('$T')).toBeNull();
    expect(sleepArgMs('')).toBeNull();
  });
  it('a plain `sleep N` exec is a fixed hold of N', () => {
    const a = analyzeHook(['sleep', '10']);
    expect(a.maxHoldMs).toBe(10_000);
    expect(a.usesShell).toBe(false);
  });
  it('for-loops over seq and counters with a limit are bounded', () => {
    expect(sh('for i in $(seq 1 30); do curl -sf localhost:8080 || exit 0; sleep 1; done').maxHoldMs).toBe(30_000);
    expect(sh('for i in 1 2 3; do sleep 2; done').maxHoldMs).toBe(6000);
    expect(sh('n=0; while grep -q :1F90 /proc/net/tcp; do [ "$n" -ge 20 ] && break; sleep 0.5; n=$((n + 1)); done').maxHoldMs).toBe(10_000);
    expect(sh('while true; do sleep 1; done').maxHoldMs).toBeNull();
  });
  it('`timeout N cmd` bounds what it runs', () => {
    expect(analyzeHook(['timeout', '20', '/bin/sh', '-c', 'while true; do sleep 1; done']).maxHoldMs).toBe(20_000);
  });
  it('fixed sleeps outside loops add up', () => {
    const a = sh('sleep 5; echo done; sleep 2');
    expect(a.fixedSleepMs).toBe(7000);
    expect(a.maxHoldMs).toBe(7000);
    expect(a.loops).toEqual([]);
  });
  it('a `while read` loop without sleep is not a wait', () => {
    const a = sh('while read -r l; do echo "$l"; done < /proc/net/tcp');
    expect(a.waits).toBe(false);
    expect(a.maxHoldMs).toBe(0);
  });
  it('native drain and quitquitquit are recognised', () => {
    expect(analyzeHook(['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain']).pilotAgentDrain).toBe(true);
    expect(quitOutcome(analyzeHook(['pilot-agent', 'request', 'POST', 'quitquitquit']).quitCalls, 'app')?.quits).toBe(true);
    expect(quitOutcome(sh('run-job; curl -fsS -XPOST http://127.0.0.1:15020/quitquitquit').quitCalls, 'app')?.quits).toBe(true);
  });
  it('bash as the interpreter is fragile; curl inside is found', () => {
    const a = analyzeHook(['/bin/bash', '-c', 'while curl -sf http://127.0.0.1:8080/; do sleep 1; done']);
    expect(a.fragile.map((f) => f.tool).sort()).toEqual(['bash', 'curl']);
  });
});

describe('shell constructs', () => {
  it('redirections and case patterns are not commands', () => {
    const names = (s: string) => simpleCommands(tokenize(s).tokens).map((c) => c.name.text);
    expect(names('command -v curl >/dev/null 2>&1 && echo y')).toEqual(['command', 'echo']);
    expect(names('case $p in 3A98|3A99) return 1 ;; *[!0-9]*) : ;; esac; date')).toEqual(['return', ':', 'date']);
    expect(names('x=1 y=2 env; ! grep -q a f')).toEqual(['env', 'grep']);
    expect(names('echo "a; b" \'c | d\'')).toEqual(['echo']);
  });
  it('finds commands inside $(...) and backticks with offsets into the script', () => {
    const s = 'x=`netstat -ltn`; y="$(ss -ltn | wc -l)"';
    const a = sh(s);
    for (const f of a.fragile) expect(s.slice(f.offset, f.offset + f.tool.length)).toBe(f.tool);
    expect(a.fragile.map((f) => f.tool).sort()).toEqual(['netstat', 'ss']);
  });
  it('the tokenizer never throws on junk', () => {
    for (const junk of ['$((', '"unterminated', "'", '`', 'while do done done', ')(;;&&||', 'case in esac esac']) {
      expect(() => sh(junk)).not.toThrow();
    }
  });
});

describe("meshdrain's own generated hold", () => {
  const hold = { strategies: [{ kind: 'app-listeners' as const }], timeoutMs: 23_000, intervalMs: 200 };
  const cmd = holdExecCommand(hold);
  const a = analyzeHook(cmd);
  it('needs no fragile tool, waits, and is bounded by its timeout with its interval per turn', () => {
    expect(a.fragile).toEqual([]);
    expect(a.waits).toBe(true);
    expect(a.maxHoldMs).toBe(23_000);
    expect(a.loops.some((l) => l.sleepPerTurnMs === 200 && l.boundMs === 23_000)).toBe(true);
    expect(a.loops.every((l) => l.envoyOnlyFilter === null)).toBe(true);
  });
  it('is a script real sh parses (so the analysis is of real shell)', () => {
    const r = spawnSync('sh', ['-n', '-c', cmd[2]!], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
