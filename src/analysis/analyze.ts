/**
 * What a lifecycle hook does, read from its exec command: the tools it needs, its wait loops, how long
 * each turn sleeps, whether a loop can end, and how long the whole hook can hold at most.
 * Pure; the rules turn this into findings.
 */
import type { AppWaitSpec, HoldSpec } from '../plan/types.js';
import { ownAppWait, ownHold } from './own-hold.js';
import { quitCallOf, type QuitCall } from './quit-call.js';
import { baseName, simpleCommands, tokenize, type SimpleCommand, type Token, type Word } from './shell-words.js';

/** Tools the default proxyv2 image has but other images (distroless, slim custom) may not. */
export const FRAGILE_TOOLS: Readonly<Record<string, string>> = Object.freeze({
  netstat: 'net-tools',
  ss: 'iproute2',
  curl: 'curl',
  wget: 'wget',
  lsof: 'lsof',
  nc: 'netcat',
  bash: 'bash',
});

/** Programs that list sockets or processes: a loop over their output is a "wait for listeners" loop. */
const SOCKET_LISTERS = new Set(['netstat', 'ss', 'lsof']);

export interface ToolUse {
  tool: string;
  /** Offset of the command word in the script (or -1 when the tool is argv[0] itself). */
  offset: number;
}

export interface SleepUse {
  ms: number;
  offset: number;
}

export interface LoopInfo {
  kind: 'while' | 'until' | 'for';
  start: number;
  end: number;
  /** Literal sleeps run once per turn (summed), and where the first one is. */
  sleepPerTurnMs: number;
  sleeps: SleepUse[];
  /** Upper bound on the loop's run time when it counts turns (for-lists, counters); null = unbounded. */
  boundMs: number | null;
  /** Lists sockets (netstat/ss/lsof) and filters out `envoy` but not `pilot-agent`, with no port filter. */
  envoyOnlyFilter: { offset: number } | null;
  /** Lists sockets via a tool; when the tool is absent the pipeline yields nothing and the loop ends. */
  socketTool: ToolUse | null;
}

export interface HookAnalysis {
  argv: string[];
  /** Shell interpreter running an inline script (`sh -c`), if any. */
  shell: string | null;
  /** The inline script (argument of -c), or null when the hook is not a shell script. */
  script: string | null;
  /** Any shell use at all (a shell interpreter as argv[0], even without -c). */
  usesShell: boolean;
  tools: ToolUse[];
  fragile: ToolUse[];
  loops: LoopInfo[];
  /** Sleeps outside any loop (a fixed delay), summed. */
  fixedSleepMs: number;
  /** Upper bound on how long the hook runs; null when a loop has no bound (runs until SIGKILL at worst). */
  maxHoldMs: number | null;
  /** Does the hook wait at all (a sleep or a loop)? */
  waits: boolean;
  /** The native-sidecar default preStop: `pilot-agent request ... POST drain`. */
  pilotAgentDrain: boolean;
  /**
   * Its calls to the agent's /quitquitquit (curl, wget, pilot-agent request, ...), each read for the method
   * and host it sends to (analysis/quit-call.ts); `quitOutcome` says whether pilot-agent quits (ADR 090).
   */
  quitCalls: QuitCall[];
  /** meshdrain's own hold (recognised by re-rendering); with drainAtStart it also drains, but it is a hold. */
  ownHold?: HoldSpec;
  /** meshdrain's traffic-gone app delay (ADR 014 (a)), recognised by re-rendering: ends on an event, bounded by maxMs. */
  appWait?: AppWaitSpec;
}

const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'busybox', 'zsh', 'ksh']);

/** Parse a `sleep` argument: 5, 0.5, 2s, 1m, 1h, 1d (GNU/busybox suffixes). null when not literal. */
export function sleepArgMs(arg: string): number | null {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(arg);
  if (!m) return null;
  const mult = { '': 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * mult);
}

interface CmdAt extends SimpleCommand {
  tool: string;
}

/** All simple commands in a script, including those inside `$(...)`, with absolute offsets. */
function allCommands(script: string, base = 0): { cmds: CmdAt[]; tokens: Token[] } {
  const { tokens, substitutions } = tokenize(script);
  const shift = (w: Word): Word => ({ ...w, start: w.start + base, end: w.end + base });
  const cmds: CmdAt[] = simpleCommands(tokens).map((c) => ({ name: shift(c.name), args: c.args.map(shift), tool: baseName(c.name.text) }));
  const shifted = tokens.map((t) => ({ ...t, start: t.start + base, end: t.end + base }));
  for (const sub of substitutions) {
    const inner = allCommands(sub.text, base + sub.offset);
    cmds.push(...inner.cmds);
  }
  return { cmds, tokens: shifted };
}

interface LoopFrame {
  kind: 'while' | 'until' | 'for';
  start: number;
  header: Word[];
  doAt: number | null;
}

/** Loops by their keywords at command positions (while/until/for ... do ... done). */
function findLoops(tokens: Token[]): { kind: LoopFrame['kind']; start: number; end: number; header: Word[] }[] {
  const loops: { kind: LoopFrame['kind']; start: number; end: number; header: Word[] }[] = [];
  const stack: LoopFrame[] = [];
  let atStart = true;
  for (const t of tokens) {
    if (t.kind === 'op') {
      atStart = true;
      if (stack.length && stack[stack.length - 1]!.doAt === null) stack[stack.length - 1]!.header.push({ kind: 'word', text: t.text, start: t.start, end: t.end });
      continue;
    }
    const top = stack[stack.length - 1];
    if (atStart && (t.text === 'while' || t.text === 'until' || t.text === 'for')) {
      stack.push({ kind: t.text, start: t.start, header: [], doAt: null });
      atStart = t.text !== 'for';
      continue;
    }
    if (atStart && t.text === 'do' && top && top.doAt === null) {
      top.doAt = t.start;
      atStart = true;
      continue;
    }
    if (atStart && t.text === 'done' && top) {
      stack.pop();
      loops.push({ kind: top.kind, start: top.start, end: t.end, header: top.header });
      atStart = false;
      continue;
    }
    if (top && top.doAt === null) top.header.push(t);
    atStart = ['then', 'else', 'elif', 'if', '!', '{', 'do', 'time'].includes(t.text);
  }
  return loops;
}

/** Turns a counting loop makes: `for x in a b c`, `for i in $(seq 1 30)`, or `[ $n -ge 30 ]` with `n=$((n+1))`. */
function countedTurns(loop: { kind: string; header: Word[] }, script: string, start: number, end: number): number | null {
  if (loop.kind === 'for') {
    const words = loop.header.filter((w) => w.text !== ';' && w.text !== '\n');
    const inAt = words.findIndex((w) => w.text === 'in');
    if (inAt < 0) return null; // `for x; do` iterates "$@"
    const list = words.slice(inAt + 1);
    const seq = /^\$\(seq\s+(?:(\d+)\s+)?(?:(\d+)\s+)?(\d+)\s*\)$/.exec(list.map((w) => w.text).join(' '));
    if (seq) {
      const nums = [seq[1], seq[2], seq[3]].filter((x) => x !== undefined).map(Number);
      const [first, incr, last] = nums.length === 1 ? [1, 1, nums[0]!] : nums.length === 2 ? [nums[0]!, 1, nums[1]!] : [nums[0]!, nums[1]!, nums[2]!];
      return incr > 0 ? Math.max(0, Math.floor((last - first) / incr) + 1) : null;
    }
    if (list.some((w) => /[$`*?[]/.test(w.text))) return null;
    return list.length;
  }
  // A counter: VAR=$((VAR + K)) and a comparison of $VAR with a literal N, then break/return/exit.
  const text = script.slice(start, end);
  const inc = /([A-Za-z_][A-Za-z0-9_]*)=\$\(\(\s*\$?\1\s*\+\s*(\d+)\s*\)\)/.exec(text);
  if (!inc) return null;
  const v = inc[1]!;
  const cmp = new RegExp(`"?\\$\\{?${v}\\}?"?\\s+-(ge|gt|eq)\\s+(\\d+)|(\\d+)\\s+-(le|lt|eq)\\s+"?\\$\\{?${v}\\}?"?`).exec(text);
  if (!cmp) return null;
  const limit = Number(cmp[2] ?? cmp[3]);
  const op = cmp[1] ?? cmp[4];
  const step = Number(inc[2]);
  if (!(step > 0)) return null;
  // -ge/-eq N ends once the counter reaches N; -gt N one step later.
  return op === 'gt' || op === 'lt' ? Math.floor(limit / step) + 1 : Math.ceil(limit / step);
}

const memo = new Map<string, HookAnalysis>();

/** Analyse a hook's exec command array. Results are shared (many pods carry the same hook): do not mutate. */
export function analyzeHook(argv: readonly string[]): HookAnalysis {
  const key = JSON.stringify(argv);
  const hit = memo.get(key);
  if (hit) return hit;
  if (memo.size > 500) memo.clear();
  const a = analyzeHookUncached(argv);
  memo.set(key, a);
  return a;
}

function analyzeHookUncached(argv: readonly string[]): HookAnalysis {
  const a: HookAnalysis = {
    argv: [...argv],
    shell: null,
    script: null,
    usesShell: false,
    tools: [],
    fragile: [],
    loops: [],
    fixedSleepMs: 0,
    maxHoldMs: 0,
    waits: false,
    pilotAgentDrain: false,
    quitCalls: [],
  };
  if (argv.length === 0) return a;
  const cmd0 = baseName(argv[0]!);
  // `timeout N cmd...` bounds whatever follows.
  if (cmd0 === 'timeout' && argv.length > 2) {
    const inner = analyzeHook(argv.slice(argv.findIndex((x, i) => i > 0 && !x.startsWith('-')) + 1));
    const bound = sleepArgMs(argv.find((x, i) => i > 0 && !x.startsWith('-')) ?? '');
    return { ...inner, argv: [...argv], maxHoldMs: bound === null ? inner.maxHoldMs : Math.min(bound, inner.maxHoldMs ?? Infinity) };
  }
  if (SHELLS.has(cmd0)) {
    a.usesShell = true;
    a.shell = argv[0]!;
    if (cmd0 === 'bash') a.fragile.push({ tool: 'bash', offset: -1 });
    const c = argv.findIndex((x, i) => i > 0 && /^-[a-z]*c[a-z]*$/.test(x));
    if (c > 0 && argv[c + 1] !== undefined) a.script = argv[c + 1]!;
  }
  if (a.script === null && !a.usesShell) {
    // A plain exec: the command itself is the only tool.
    a.tools.push({ tool: cmd0, offset: -1 });
    if (FRAGILE_TOOLS[cmd0]) a.fragile.push({ tool: cmd0, offset: -1 });
    if (cmd0 === 'sleep') {
      const ms = sleepArgMs(argv[1] ?? '');
      if (ms !== null) a.fixedSleepMs = ms;
      a.maxHoldMs = ms;
      a.waits = true;
    }
    if (cmd0 === 'pilot-agent' && argv.includes('request')) {
      const rest = argv.slice(argv.indexOf('request') + 1).filter((x) => !x.startsWith('-'));
      const path = (rest[1] ?? '').replace(/^\//, '');
      if (path === 'drain') a.pilotAgentDrain = true;
    }
    // A plain exec that calls the quit endpoint (curl -XPOST localhost:15020/quitquitquit, wget --post-data).
    const quit = quitCallOf(cmd0, argv.slice(1));
    if (quit) a.quitCalls.push(quit);
    return a;
  }
  if (a.script === null) return a;
  analyzeScript(a.script, a);
  const own = ownHold(argv);
  if (own) boundByOwnHold(a, own);
  const wait = own ? null : ownAppWait(argv);
  if (wait) {
    // Every loop of the wait ends by its upper bound (the main poll loop and the unobservable fallback).
    a.appWait = wait;
    a.maxHoldMs = wait.maxMs;
    for (const l of a.loops) {
      l.boundMs = wait.maxMs;
      if (l.sleepPerTurnMs === 0) l.sleepPerTurnMs = wait.intervalMs;
    }
    a.waits = true;
  }
  return a;
}

/** meshdrain's hold ends at its timeout: its main loop, which the generic analysis sees as endless, is bounded by it. */
function boundByOwnHold(a: HookAnalysis, hold: HoldSpec): void {
  a.ownHold = hold;
  a.maxHoldMs = hold.timeoutMs;
  // The main poll loop: the endless one, else the widest (its pause sits in md_pause, a function it calls).
  const main = a.loops.find((l) => l.boundMs === null) ?? [...a.loops].sort((x, y) => y.end - y.start - (x.end - x.start))[0];
  if (main) {
    main.boundMs = hold.timeoutMs;
    if (main.sleepPerTurnMs === 0) main.sleepPerTurnMs = hold.intervalMs;
  }
  a.waits = true;
}

/** Fill tools, loops, sleeps and bounds from a script (also used for image entrypoints and app commands). */
export function analyzeScript(script: string, a: HookAnalysis): void {
  const { cmds, tokens } = allCommands(script);
  const loops = findLoops(tokens);
  const seenFragile = new Set(a.fragile.map((f) => f.tool));
  for (const c of cmds) {
    a.tools.push({ tool: c.tool, offset: c.name.start });
    if (FRAGILE_TOOLS[c.tool] && !seenFragile.has(c.tool)) {
      seenFragile.add(c.tool);
      a.fragile.push({ tool: c.tool, offset: c.name.start });
    }
    if (SHELLS.has(c.tool)) a.usesShell = true;
    const words = [c.name, ...c.args].map((w) => w.text);
    const quit = quitCallOf(c.tool, words.slice(1));
    if (quit) a.quitCalls.push(quit);
    if (c.tool === 'pilot-agent' && words.includes('request') && words.some((w) => /^\/?drain$/.test(w))) a.pilotAgentDrain = true;
  }
  const within = (off: number, l: { start: number; end: number }): boolean => off >= l.start && off < l.end;
  const innermost = (off: number) =>
    loops.filter((l) => within(off, l)).sort((x, y) => x.end - x.start - (y.end - y.start))[0];

  for (const l of loops) {
    const sleeps: SleepUse[] = [];
    for (const c of cmds) {
      if (c.tool !== 'sleep' || innermost(c.name.start) !== l) continue;
      const ms = sleepArgMs(c.args[0]?.text ?? '');
      if (ms !== null) sleeps.push({ ms, offset: c.name.start });
    }
    const sleepPerTurnMs = sleeps.reduce((s, x) => s + x.ms, 0);
    const inLoop = cmds.filter((c) => within(c.name.start, l));
    const lister = inLoop.find((c) => SOCKET_LISTERS.has(c.tool));
    const greps = inLoop.filter((c) => c.tool === 'grep' || c.tool === 'egrep');
    const isInvert = (g: CmdAt) => g.args.some((w) => /^-[A-Za-z]*v[A-Za-z]*$/.test(w.text) || w.text === '--invert-match');
    const patterns = (g: CmdAt) => g.args.filter((w) => !w.text.startsWith('-')).map((w) => w.text);
    const excludes = greps.filter(isInvert).flatMap(patterns);
    const envoyGrep = greps.find((g) => isInvert(g) && patterns(g).some((p) => /envoy/.test(p)));
    const portSpecific =
      greps.some((g) => !isInvert(g) && patterns(g).some((p) => /\d{2,5}/.test(p))) ||
      (lister?.args.some((w) => /[sd]port|:\d{2,5}\b/.test(w.text)) ?? false);
    const excludesAgent = excludes.some((p) => /pilot|15020|15021/.test(p));
    const envoyOnlyFilter = lister && envoyGrep && !excludesAgent && !portSpecific ? { offset: envoyGrep.name.start } : null;
    const turns = countedTurns(l, script, l.start, l.end);
    const sleepsAnywhere = cmds.some((c) => c.tool === 'sleep' && within(c.name.start, l));
    // A loop that never sleeps processes input (`while read`); it is not a wait, unless it busy-polls sockets.
    const boundMs = turns !== null ? turns * sleepPerTurnMs : !sleepsAnywhere && !lister ? 0 : null;
    a.loops.push({
      kind: l.kind,
      start: l.start,
      end: l.end,
      sleepPerTurnMs,
      sleeps,
      boundMs,
      envoyOnlyFilter,
      socketTool: lister ? { tool: lister.tool, offset: lister.name.start } : null,
    });
  }
  // Sleeps outside every loop are a fixed delay.
  for (const c of cmds) {
    if (c.tool !== 'sleep' || innermost(c.name.start)) continue;
    const ms = sleepArgMs(c.args[0]?.text ?? '');
    if (ms !== null) a.fixedSleepMs += ms;
  }
  const outer = a.loops.filter((l) => !loops.some((o) => o.start < l.start && o.end >= l.end));
  let max: number | null = a.fixedSleepMs;
  for (const l of outer) max = max === null || l.boundMs === null ? null : max + l.boundMs;
  a.maxHoldMs = max;
  a.waits = a.fixedSleepMs > 0 || a.loops.some((l) => l.boundMs !== 0);
}

/**
 * How long a preStop handler delays the container's SIGTERM, in seconds: the native sleep action,
 * or what the exec command's analysis says it holds (its bound, else its fixed sleeps).
 */
export function handlerDelaySeconds(h: { exec?: { command?: string[] }; sleep?: { seconds: number } } | undefined): number {
  if (!h) return 0;
  if (typeof h.sleep?.seconds === 'number') return h.sleep.seconds;
  const argv = h.exec?.command;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((x) => typeof x === 'string')) return 0;
  const a = analyzeHook(argv);
  return (a.maxHoldMs ?? a.fixedSleepMs) / 1000;
}
