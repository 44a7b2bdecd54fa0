import { LoggerService } from '@backstage/backend-plugin-api';
import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { readServerSentEvents } from '@release-commands/test-utils';
import express from 'express';
import { EventEmitter, getEventListeners } from 'node:events';
import { AddressInfo } from 'node:net';
import { LogBatch } from '../database/RunLogStore';
import { openRunLog } from '../runs/openRunLog';
import { RunEvents } from '../runs/RunEvents';
import { RunLog } from '../runs/RunLog';
import { streamRunLogEvents, writeToClient } from './streamRunLog';

const RUN = 'run-1';

/** A log store in memory that counts its reads. */
class MemoryLogStore {
  chunks = new Map<number, RunLogChunk>();
  reads = 0;

  async writeLog(_runId: string, batch: LogBatch): Promise<boolean> {
    for (const chunk of [...batch.append, ...batch.put]) {
      this.chunks.set(chunk.seq, chunk);
    }
    for (const seq of batch.delete) this.chunks.delete(seq);
    return true;
  }

  async readLog(
    _runId: string,
    options: { afterSeq: number; limit: number },
  ): Promise<RunLogChunk[]> {
    this.reads++;
    return this.stored()
      .filter(chunk => chunk.seq > options.afterSeq)
      .slice(0, options.limit);
  }

  stored(): RunLogChunk[] {
    return [...this.chunks.values()].sort((a, b) => a.seq - b.seq);
  }

  text(): string {
    return this.stored()
      .map(chunk => chunk.text)
      .join('');
  }
}

type Follower = {
  chunks: RunLogChunk[];
  /** Characters of text received. */
  received: number;
  /** The run's status from the end event, once it came. */
  ended: Promise<string>;
  text(): string;
};

describe('streamRunLogEvents', () => {
  let server: ReturnType<express.Express['listen']>;
  let baseUrl: string;
  let logStore: MemoryLogStore;
  let events: RunEvents;
  let status: string;
  let statusReads: number;
  const logs: RunLog[] = [];

  beforeEach(async () => {
    logStore = new MemoryLogStore();
    // A follower may fall 1 MB behind before it reads the store instead.
    events = new RunEvents({ maxQueuedBytes: 1024 * 1024 });
    status = 'running';
    statusReads = 0;
    const runsStore = {
      getRun: async () => {
        statusReads++;
        return { status, reason: null } as any;
      },
    };
    const app = express();
    app.get('/logs', (req, res) =>
      streamRunLogEvents(
        req,
        res,
        { runsStore, logStore, events },
        RUN,
        Number(req.query.after ?? -1),
      ),
    );
    server = app.listen(0);
    await new Promise(resolve => server.once('listening', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close();
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  });

  function openLog(capBytes = 64 * 1024 * 1024) {
    const log = openRunLog(
      {
        logStore: logStore as any,
        events,
        logger: { warn: jest.fn() } as unknown as LoggerService,
        logCapBytes: capBytes,
      },
      RUN,
      0,
    );
    logs.push(log);
    return log;
  }

  async function follow(options: { paused?: Promise<void> } = {}) {
    const response = await fetch(`${baseUrl}/logs`);
    const chunks: RunLogChunk[] = [];
    const follower: Follower = {
      chunks,
      received: 0,
      ended: Promise.resolve(''),
      text: () => chunks.map(chunk => chunk.text).join(''),
    };
    follower.ended = (async () => {
      await options.paused;
      for await (const event of readServerSentEvents(response)) {
        if (event.event === 'chunk') {
          const chunk = JSON.parse(event.data);
          chunks.push(chunk);
          follower.received += chunk.text.length;
        }
        if (event.event === 'end') return JSON.parse(event.data).status;
      }
      throw new Error('The stream ended without an end event');
    })();
    return follower;
  }

  async function until(condition: () => boolean) {
    while (!condition()) await new Promise(resolve => setImmediate(resolve));
  }

  async function end(log: RunLog, finalStatus = 'succeeded') {
    log.system('Finished');
    await log.close();
    status = finalStatus;
    events.notify(RUN);
  }

  it('hands every write of a run written here to each follower, without reading the store back', async () => {
    const log = openLog();
    log.system('Release commands');
    await log.flush();
    const followers = await Promise.all(
      Array.from({ length: 20 }, () => follow()),
    );
    // Each has read what was stored when it came, then waits.
    await until(() => followers.every(f => f.chunks.length === 1));
    await until(() => statusReads >= 20);
    const readsBefore = logStore.reads;
    const statusBefore = statusReads;

    for (let write = 0; write < 200; write++) {
      // Characters of two, three and four bytes: an event is encoded by
      // its byte length.
      log.output(0, write % 3 ? 'stdout' : 'stderr', `line ${write} é ✓ 🚀\n`);
      await log.flush();
    }
    await until(() => followers.every(f => f.chunks.length >= 201));
    expect(logStore.reads).toBe(readsBefore);
    expect(statusReads).toBe(statusBefore);

    await end(log);
    for (const follower of followers) {
      await expect(follower.ended).resolves.toBe('succeeded');
      expect(follower.text()).toBe(logStore.text());
      expect(follower.chunks).toEqual(logStore.stored());
    }
  });

  it('gives a follower that comes mid-run what was stored, then the rest live, each chunk once', async () => {
    const log = openLog();
    for (let i = 0; i < 150; i++) {
      log.output(0, 'stdout', `before ${i}\n`);
      // More chunks than one read of the store takes.
      await log.flush();
    }
    const follower = await follow();
    for (let i = 0; i < 50; i++) {
      log.output(0, 'stdout', `after ${i}\n`);
      await log.flush();
    }
    await end(log);
    await expect(follower.ended).resolves.toBe('succeeded');
    expect(follower.chunks.map(c => c.seq)).toEqual(
      logStore.stored().map(c => c.seq),
    );
    expect(follower.text()).toBe(logStore.text());
  });

  it('lets a follower that does not keep up fall behind, then reads what it missed from the store', async () => {
    const log = openLog();
    let resume = () => {};
    const paused = new Promise<void>(resolve => {
      resume = resolve;
    });
    const slow = await follow({ paused });
    const quick = await follow();
    await until(() => statusReads >= 2);
    const readsBefore = logStore.reads;
    // 16 MB while the slow one reads nothing: far more than it may hold.
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 256; i++) {
      log.output(0, 'stdout', line.repeat(64));
      await log.flush();
    }
    await until(() => quick.received >= 16 << 20);
    resume();
    await end(log);
    await expect(slow.ended).resolves.toBe('succeeded');
    await expect(quick.ended).resolves.toBe('succeeded');
    expect(slow.text()).toBe(logStore.text());
    expect(quick.text()).toBe(logStore.text());
    // Only the one that fell behind read the store, a few MB at a time.
    expect(logStore.reads - readsBefore).toBeGreaterThan(2);
  });

  it('follows a run written by another replica by polling the store', async () => {
    const follower = await follow();
    const write = (seq: number, text: string) =>
      logStore.writeLog(RUN, {
        append: [{ seq, step: 0, stream: 'stdout', at: '', text }],
        put: [],
        delete: [],
      });
    await write(0, 'one\n');
    await until(() => follower.chunks.length === 1);
    await write(1, 'two\n');
    status = 'failed';
    await expect(follower.ended).resolves.toBe('failed');
    expect(follower.text()).toBe('one\ntwo\n');
  });
});

describe('writeToClient', () => {
  it('waits for each drain of a full buffer without leaving a listener on the signal', async () => {
    // A response whose buffer is always full: every write waits for a drain.
    const res = Object.assign(new EventEmitter(), {
      write: () => {
        setImmediate(() => res.emit('drain'));
        return false;
      },
    });
    const closed = new AbortController();
    for (let i = 0; i < 100; i++) {
      await writeToClient(res as any, 'data', closed.signal);
    }
    expect(getEventListeners(closed.signal, 'abort')).toHaveLength(0);
    expect(res.listenerCount('drain')).toBe(0);
  });

  it('stops waiting when the client goes', async () => {
    const res = Object.assign(new EventEmitter(), { write: () => false });
    const closed = new AbortController();
    const written = writeToClient(res as any, 'data', closed.signal);
    closed.abort();
    await expect(written).resolves.toBeUndefined();
    expect(res.listenerCount('drain')).toBe(0);
  });
});
