import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import { freePort, waitFor } from './processes.ts';

const run = promisify(execFile);

export interface LocalRedisCluster {
  /** A seed node, as REDIS_URL. */
  readonly url: string;
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/** A real Redis Cluster of `masters` masters (no replicas) from `redis-server`, on free local ports. */
export async function startRedisCluster(masters = 3): Promise<LocalRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'pushcast-redis-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  for (let i = 0; i < masters; i += 1) {
    const port = await freePort();
    ports.push(port);
    children.push(
      spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
          '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000',
          '--save', '', '--appendonly', 'no',
        ],
        { stdio: 'ignore' },
      ),
    );
  }
  const stop = async () => {
    for (const c of children) c.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      await waitFor(`redis node ${port}`, async () => {
        try {
          return (await run('redis-cli', ['-p', String(port), 'ping'])).stdout.trim() === 'PONG' ? true : undefined;
        } catch {
          return undefined;
        }
      });
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (const port of ports) {
      await waitFor(`cluster state ok on ${port}`, async () => {
        const info = (await run('redis-cli', ['-p', String(port), 'cluster', 'info'])).stdout;
        return info.includes('cluster_state:ok') ? true : undefined;
      });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, stop };
}
