/**
 * gRPC in the lab with the maintained @grpc/grpc-js (real gRPC over HTTP/2: length-prefixed messages,
 * grpc-status trailers; ADR 072). The lab's service has a unary call and a server-streaming call; the
 * messages are JSON (the lab needs no protobuf schema, the framing and status handling are grpc-js's).
 * A call that ends in any status but OK counts as failed (UNAVAILABLE included), and so does a stream
 * that ends in anything but the app's own clean close (OK).
 */
import * as grpc from '@grpc/grpc-js';
import { fail, newTally, succeed, type LoadTarget, type ProtocolLoad, type ProtocolTally } from './tally.js';

type Msg = Record<string, unknown>;
const json = {
  serialize: (m: Msg) => Buffer.from(JSON.stringify(m)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as Msg,
};

/**
 * The lab's service: `meshdrain.lab.Echo/Unary`, `/Watch` (server streaming) and `/Ready` (the
 * readiness call the kubelet's gRPC probe makes; answers `{serving}` like grpc.health.v1's Check).
 */
export const ECHO_SERVICE = {
  ready: { path: '/meshdrain.lab.Echo/Ready', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  unary: { path: '/meshdrain.lab.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  watch: { path: '/meshdrain.lab.Echo/Watch', requestStream: false, responseStream: true, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
} satisfies grpc.ServiceDefinition;

export interface EchoServer {
  server: grpc.Server;
  port: number;
  /** The app's own clean close: end every open Watch stream with OK, stop taking calls. */
  closeStreams(): void;
}

/**
 * The app's gRPC face: Unary answers at once; Watch sends a tick every `tickMs` until the app closes it;
 * Ready says whether the app still serves (`isServing`: false once it is shutting down).
 */
export async function startEchoServer(host: string, port: number, tickMs = 100, isServing: () => boolean = () => true): Promise<EchoServer> {
  const server = new grpc.Server();
  const open = new Set<grpc.ServerWritableStream<Msg, Msg>>();
  server.addService(ECHO_SERVICE, {
    ready: (_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => cb(null, { serving: isServing() }),
    unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => cb(null, { ok: true, n: call.request.n }),
    watch: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      open.add(call);
      const t = setInterval(() => call.write({ tick: Date.now() }), tickMs);
      const done = () => {
        clearInterval(t);
        open.delete(call);
      };
      call.on('cancelled', done);
      call.on('close', done);
      (call as unknown as { closeCleanly: () => void }).closeCleanly = () => {
        done();
        call.end();
      };
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    port: bound,
    closeStreams() {
      for (const c of [...open]) (c as unknown as { closeCleanly: () => void }).closeCleanly();
    },
  };
}

export interface GrpcLoadOptions {
  /** Unary callers in parallel. */
  concurrency: number;
  /** Server-streaming calls held open (each is one request). */
  streams: number;
  maxMs: number;
  deadlineMs?: number;
  /** Keep the load's own timeline (newTally(bucketMs)). */
  bucketMs?: number;
}

/** Unary calls in a bounded loop plus long-lived Watch streams, reopened when they end. */
export function startGrpcLoad(target: LoadTarget, o: GrpcLoadOptions): ProtocolLoad {
  const tally = newTally(o.bucketMs);
  const Client = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
  const address = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as {
    unary(req: Msg, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientUnaryCall;
    watch(req: Msg, opts: grpc.CallOptions): grpc.ClientReadableStream<Msg>;
    close(): void;
  };
  let stopped = false;
  const until = Date.now() + o.maxMs;
  const live = () => !stopped && Date.now() < until;
  const status = (code: number) => grpc.status[code] ?? String(code);
  const unary = (n: number) =>
    new Promise<void>((resolve) => {
      client.unary({ n }, { deadline: Date.now() + (o.deadlineMs ?? 5000) }, (err) => {
        tally.requests++;
        if (err) fail(tally, status(err.code));
        else succeed(tally);
        resolve();
      });
    });
  const openStreams = new Set<grpc.ClientReadableStream<Msg>>();
  const watch = () =>
    new Promise<void>((resolve) => {
      const call = client.watch({}, {});
      openStreams.add(call);
      tally.requests++;
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => {
        // Our own cancel at the end of the run is not a failure.
        if (!(stopped && e.code === grpc.status.CANCELLED)) fail(tally, `stream ${status(e.code)}`);
      });
      call.on('status', (st: grpc.StatusObject) => {
        if (st.code === grpc.status.OK) succeed(tally);
      });
      call.on('close', () => {
        openStreams.delete(call);
        resolve();
      });
    });
  const unaryWorker = async () => {
    let n = 0;
    while (live()) await unary(n++);
  };
  const streamWorker = async () => {
    while (live()) {
      await watch();
      if (live()) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const workers = [...Array.from({ length: o.concurrency }, unaryWorker), ...Array.from({ length: o.streams }, streamWorker)];
  return {
    count: () => tally.requests,
    async stop(): Promise<ProtocolTally> {
      stopped = true;
      for (const c of openStreams) c.cancel();
      await Promise.all(workers);
      client.close();
      return tally;
    },
  };
}
