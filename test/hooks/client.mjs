// A pod-like client for the app-wait and app-connections tests. argv[2] = JSON:
//   { connect: [{ host, port, localAddress }], lazy, every: { host, port, localAddress, ms, http } }
// lazy: the kept connections open only on "open" (stdin), so a test controls the moment exactly.
// connect: connections opened at start and kept; every: a short connection (open, close) every ms.
// stdout: "ready" once the kept connections are up; "closed <epoch ms>" after "close" on stdin.
// stdin: "close" closes every kept connection and stops `every`; "open" opens the kept set again.
import net from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
let kept = [];
let timer;

async function openAll() {
  for (const c of spec.connect ?? []) {
    kept.push(await new Promise((resolve, reject) => {
      const s = net.connect({ host: c.host, port: c.port, localAddress: c.localAddress }, () => resolve(s));
      s.once('error', reject);
    }));
  }
}
async function main() {
  if (!spec.lazy) await openAll();
  if (spec.every) {
    const e = spec.every;
    const tick = () => {
      // http: one request with Connection: close, so the server's side closes first (TIME_WAIT there);
      // else the client closes after 20 ms.
      const s = net.connect({ host: e.host, port: e.port, localAddress: e.localAddress }, () => {
        if (e.http) s.write('GET / HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n');
        else setTimeout(() => s.destroy(), 20);
      });
      s.on('data', () => {});
      s.on('error', () => {});
      timer = setTimeout(tick, e.ms);
    };
    tick();
  }
  process.stdout.write('ready\n');
}
process.on('SIGTERM', () => process.exit(0));
let inbuf = '';
process.stdin.on('data', async (d) => {
  inbuf += d;
  let nl;
  while ((nl = inbuf.indexOf('\n')) >= 0) {
    const cmd = inbuf.slice(0, nl).trim();
    inbuf = inbuf.slice(nl + 1);
    if (cmd === 'close') {
      clearTimeout(timer);
      const t = Date.now();
      for (const s of kept) s.destroy();
      kept = [];
      process.stdout.write(`closed ${t}\n`);
    }
    if (cmd === 'open') { await openAll(); process.stdout.write('opened\n'); }
  }
});
main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
