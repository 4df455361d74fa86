// Pod-like listener for the hook tests and bench. Run through a symlink named envoy / pilot-agent /
// app so netstat shows that name. argv[2] = JSON:
//   { listen: [{ port, host = '0.0.0.0', ipv6Only, http, closeAt (epoch ms) }], conns: N, exitWhenClosed }
// stdout: "ready" once everything listens (and N loopback connections are established: 2N sockets),
// then "closed <port> <epoch ms taken just BEFORE the close>" for each listener closed.
// stdin: "close <port>" closes that listener now (so a test can close after the hook is running).
import http from 'node:http';
import net from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
const servers = [];
const byPort = new Map();
const keep = [];
let open = 0;

function closeOne(server, port) {
  const t = Date.now();
  server.close();
  process.stdout.write(`closed ${port} ${t}\n`);
  open -= 1;
  if (open === 0 && spec.exitWhenClosed) setTimeout(() => process.exit(0), 50);
}

async function main() {
  for (const l of spec.listen ?? []) {
    const server = l.http
      ? http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(`${req.url}\n`); process.stdout.write(`request ${req.url}\n`); })
      : net.createServer((s) => keep.push(s));
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: l.port, host: l.host ?? '0.0.0.0', ipv6Only: Boolean(l.ipv6Only) }, resolve);
    });
    servers.push(server);
    byPort.set(l.port, server);
    open += 1;
    if (l.closeAt !== undefined) {
      const arm = () => {
        const d = l.closeAt - Date.now();
        if (d > 5) setTimeout(arm, d > 50 ? d - 20 : 1);
        else closeOne(server, l.port);
      };
      arm();
    }
  }
  if (spec.conns) {
    const sink = net.createServer((s) => keep.push(s));
    await new Promise((r) => sink.listen(spec.connPort ?? 40000, '127.0.0.1', r));
    for (let i = 0; i < spec.conns; i++) {
      await new Promise((resolve, reject) => {
        const c = net.connect(spec.connPort ?? 40000, '127.0.0.1', resolve);
        c.once('error', reject);
        keep.push(c);
      });
    }
  }
  process.stdout.write('ready\n');
}
process.on('SIGTERM', () => process.exit(0));
let inbuf = '';
process.stdin.on('data', (d) => {
  inbuf += d;
  let nl;
  while ((nl = inbuf.indexOf('\n')) >= 0) {
    const m = /^close (\d+)$/.exec(inbuf.slice(0, nl).trim());
    inbuf = inbuf.slice(nl + 1);
    const server = m && byPort.get(Number(m[1]));
    if (server) {
      byPort.delete(Number(m[1]));
      closeOne(server, Number(m[1]));
    }
  }
});
main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(1); });
