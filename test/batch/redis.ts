/**
 * A Redis for the queue tests: ABE_REDIS_URL, else the CI set-up step's server (127.0.0.1:6390), else our own
 * redis-server on a random loopback port. None available: the test fails under CI=true, is skipped elsewhere.
 */
import { spawn, spawnSync, ChildProcess } from 'child_process';
import * as net from 'net';

export const CI_REDIS_PORT = 6390;

function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
    srv.on('error', reject);
  });
}

export interface RedisHandle {
  url: string;
  stop(): void;
}

export async function getRedis(): Promise<RedisHandle | string> {
  if (process.env.ABE_REDIS_URL) return { url: process.env.ABE_REDIS_URL, stop: () => undefined };
  if (await ping(CI_REDIS_PORT)) return { url: `redis://127.0.0.1:${CI_REDIS_PORT}`, stop: () => undefined };
  if (spawnSync('redis-server', ['--version']).status !== 0)
    return 'redis-server is not installed (apt-get install redis-server) and ABE_REDIS_URL is not set';
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 50; i++) {
    if (await ping(port))
      return {
        url: `redis://127.0.0.1:${port}`,
        stop: () => {
          child.kill('SIGTERM');
        },
      };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  return `redis-server did not answer on port ${port}`;
}
