import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';
import { RunLog, RunLogOptions } from './RunLog';

/**
 * Keeps chunks in a map, as the database does, by sequence number; a write
 * is all or nothing, as the database's transaction is.
 */
function memoryStore() {
  const chunks = new Map<number, RunLogChunk>();
  const store: RunLogOptions['store'] = {
    async writeLog(_runId, batch) {
      for (const chunk of batch.append) {
        if (chunks.has(chunk.seq)) {
          throw new Error(`duplicate seq ${chunk.seq}`);
        }
      }
      for (const chunk of [...batch.append, ...batch.put]) {
        chunks.set(chunk.seq, chunk);
      }
      batch.delete.forEach(seq => chunks.delete(seq));
      return true;
    },
  };
  const text = () =>
    [...chunks.values()]
      .sort((a, b) => a.seq - b.seq)
      .map(c => c.text)
      .join('');
  return { store, chunks, text };
}

describe('RunLog', () => {
  it('writes system lines and output in order, merging consecutive output', async () => {
    const { store, chunks, text } = memoryStore();
    const written = jest.fn();
    const rewritten = jest.fn();
    const log = new RunLog({
      store,
      runId: 'r',
      capBytes: 1024 * 1024,
      onWritten: written,
      onRewritten: rewritten,
    });
    log.system('===== docker release commands =====');
    log.system('[1/1] Migrate: migrate', 0);
    log.output(0, 'stdout', 'first\n');
    log.output(0, 'stdout', 'second\n');
    log.output(0, 'stderr', 'warning\n');
    log.system('[1/1] Migrate passed (exit 0, 0.1s)', 0);
    await log.close();

    expect(text()).toBe(
      '===== docker release commands =====\n[1/1] Migrate: migrate\nfirst\nsecond\nwarning\n[1/1] Migrate passed (exit 0, 0.1s)\n',
    );
    expect([...chunks.values()].map(c => [c.stream, c.step])).toEqual([
      ['system', null],
      ['system', 0],
      ['stdout', 0],
      ['stderr', 0],
      ['system', 0],
    ]);
    expect(written).toHaveBeenCalled();
    expect(rewritten).not.toHaveBeenCalled();
    expect(log.cutBytes).toBe(0);
  });

  it('keeps output as the bytes it came in, uncopied, and decodes each chunk once when it is written', async () => {
    const { store, chunks } = memoryStore();
    const log = new RunLog({ store, runId: 'r', capBytes: 1024 * 1024 });
    const pieces = ['déploiement ', '€ 12 ', '🚀\n', 'plain\n'].map(t =>
      Buffer.from(t),
    );
    for (const piece of pieces) log.output(0, 'stdout', piece);
    const [pending] = (log as any).pending as Array<{ parts: Buffer[] }>;
    // The very Buffers handed in: nothing was copied or decoded yet.
    expect(pending.parts).toHaveLength(pieces.length);
    pending.parts.forEach((part, i) => expect(part).toBe(pieces[i]));
    log.output(0, 'stdout', 'and a string\n');
    await log.close();
    expect([...chunks.values()].map(c => c.text)).toEqual([
      'déploiement € 12 🚀\nplain\nand a string\n',
    ]);
  });

  it('writes a backlog in batches of at most 512 KB, each handed on with what it covers', async () => {
    const { store, text } = memoryStore();
    const batches: number[] = [];
    const writes: Array<{ after: number; through: number; seqs: number[] }> =
      [];
    const log = new RunLog({
      store: {
        writeLog: (runId, batch, options) => {
          batches.push(
            batch.append.reduce((sum, c) => sum + Buffer.byteLength(c.text), 0),
          );
          return store.writeLog(runId, batch, options);
        },
      },
      runId: 'r',
      capBytes: 64 * 1024 * 1024,
      // Only close() writes: the whole backlog is pending then.
      flushIntervalMs: 3_600_000,
      onWritten: write =>
        writes.push({
          after: write.after,
          through: write.through,
          seqs: write.chunks.map(c => c.seq),
        }),
    });
    const line = `${'x'.repeat(1023)}\n`;
    let expected = '';
    // Just under the eager flush each time, then written all at once.
    for (let i = 0; i < 12; i++) {
      const output = line.repeat(200);
      log.output(0, i % 2 ? 'stdout' : 'stderr', output);
      expected += output;
    }
    await log.close();

    expect(text()).toBe(expected);
    expect(batches.length).toBeGreaterThan(3);
    // A batch stops once it reaches 512 KB: at most one chunk (here one
    // output of 200 KB) over.
    expect(Math.max(...batches)).toBeLessThan(712 * 1024);
    // Each write takes on where the one before it ended.
    expect(writes[0].after).toBe(-1);
    for (let i = 1; i < writes.length; i++) {
      expect(writes[i].after).toBe(writes[i - 1].through);
      expect(writes[i].seqs[0]).toBe(writes[i].after + 1);
    }
  });

  it('keeps the head and the tail past the cap, says what was cut, and keeps its own lines', async () => {
    const { store, text } = memoryStore();
    const rewritten = jest.fn();
    const log = new RunLog({
      store,
      runId: 'r',
      capBytes: 4000,
      flushIntervalMs: 5,
      onRewritten: rewritten,
    });
    log.system('heading');
    for (let i = 0; i < 1000; i++) {
      log.output(0, 'stdout', `line ${String(i).padStart(4, '0')}\n`);
      if (i === 500) log.system('a line of our own in the middle', 0);
      if (i % 100 === 0) await new Promise(r => setTimeout(r, 6));
    }
    log.system('verdict');
    await log.close();

    const all = text();
    const lines = all.split('\n');
    expect(lines[0]).toBe('heading');
    expect(lines[1]).toBe('line 0000');
    expect(all).toContain('line 0100');
    expect(all).not.toContain('line 0500\n');
    expect(all).toContain('a line of our own in the middle');
    expect(all).toContain('line 0999\nverdict\n');
    expect(all).toMatch(
      /\[[\d.]+ KiB of command output cut here: the log keeps the first 2.0 KiB and the last 2.0 KiB/,
    );
    const output = lines.filter(l => l.startsWith('line ')).join('\n');
    // Roughly the cap: whole chunks are cut, never part of one.
    expect(output.length).toBeLessThanOrEqual(4000 + 100);
    expect(output.length).toBeGreaterThan(3000);
    expect(log.cutBytes).toBe(10 * 1000 - output.length - 1);
    // The seam note sits between the head and the tail.
    const seam = all.indexOf('cut here');
    expect(all.lastIndexOf('line 01', seam)).toBeGreaterThan(0);
    expect(all.indexOf('line 0999')).toBeGreaterThan(seam);
    // Told of the cuts and the rewritten note (under the cap, never).
    expect(rewritten).toHaveBeenCalled();
  });

  it('splits chunks larger than the cap at line breaks, keeping head and tail', async () => {
    const { store, text } = memoryStore();
    const log = new RunLog({ store, runId: 'r', capBytes: 2000 });
    const lines = Array.from(
      { length: 500 },
      (_, i) => `line ${String(i).padStart(3, '0')} é€\n`,
    );
    // All the output arrives in one chunk, as a fast command's often does.
    log.output(0, 'stdout', lines.join(''));
    log.system('verdict');
    await log.close();

    const all = text();
    const kept = all.split('\n');
    expect(kept[0]).toBe('line 000 é€');
    expect(all).toContain('line 499 é€\nverdict\n');
    // Whole lines on both sides of the seam, and nothing garbled.
    expect(all).toMatch(/é€\n\[[\d.]+ KiB of command output cut here/);
    expect(all).toMatch(/every line of its own\]\nline \d{3} é€\n/);
    expect(all).not.toContain('\ufffd');
    const output = kept.filter(l => l.startsWith('line '));
    expect(Buffer.byteLength(output.join('\n'))).toBeLessThanOrEqual(2000);
    expect(Buffer.byteLength(output.join('\n'))).toBeGreaterThan(1800);
  });

  it('keeps its memory within the cap when the store is slow', async () => {
    let release: () => void = () => {};
    const { store, chunks } = memoryStore();
    const gate = new Promise<void>(resolve => {
      release = resolve;
    });
    const slow: RunLogOptions['store'] = {
      writeLog: async (runId, batch) => {
        await gate;
        return store.writeLog(runId, batch);
      },
    };
    const log = new RunLog({ store: slow, runId: 'r', capBytes: 64 * 1024 });
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 10_000; i++) log.output(0, 'stdout', line); // 10 MiB
    // Nothing written yet; what is held is bounded by the cap.
    const held = (log as any).pending.reduce(
      (sum: number, c: { bytes: number }) => sum + c.bytes,
      0,
    );
    expect(held).toBeLessThanOrEqual(64 * 1024 + 64 * 1024);
    release();
    await log.close();
    const kept = [...chunks.values()].reduce(
      (sum, c) => sum + (c.stream === 'stdout' ? c.text.length : 0),
      0,
    );
    expect(kept).toBeLessThanOrEqual(64 * 1024 + 1024);
    expect(log.cutBytes + kept).toBe(10_000 * 1024);
  });

  it('drops a tail chunk that waits to be written whole, without copying it', async () => {
    let release: () => void = () => {};
    const { store, chunks } = memoryStore();
    const gate = new Promise<void>(resolve => {
      release = resolve;
    });
    const slow: RunLogOptions['store'] = {
      writeLog: async (runId, batch) => {
        await gate;
        return store.writeLog(runId, batch);
      },
    };
    // Tail chunks merge up to 4 KiB here (an eighth of the tail's budget).
    const log = new RunLog({ store: slow, runId: 'r', capBytes: 64 * 1024 });
    // Reads of 1000 bytes with no line break: a chunk cut short would show.
    const piece = 'y'.repeat(1000);
    for (let i = 0; i < 2000; i++) log.output(0, 'stdout', piece);
    const tail = (log as any).pending.filter(
      (c: { droppable: boolean }) => c.droppable,
    ) as Array<{ bytes: number; parts: Buffer[] }>;
    for (const chunk of tail) {
      expect(chunk.bytes % 1000).toBe(0);
      expect(Buffer.concat(chunk.parts).length).toBe(chunk.bytes);
    }
    const held = tail.reduce((sum, c) => sum + c.bytes, 0);
    // Within the tail's budget, and short of it by less than one chunk.
    expect(held).toBeLessThanOrEqual(32 * 1024);
    expect(held).toBeGreaterThan(32 * 1024 - 4096);
    release();
    await log.close();
    const kept = [...chunks.values()].reduce(
      (sum, c) => sum + (c.stream === 'stdout' ? c.text.length : 0),
      0,
    );
    expect(log.cutBytes + kept).toBe(2000 * 1000);
  });

  it('continues an existing log from a given sequence number', async () => {
    const { store, chunks } = memoryStore();
    const log = new RunLog({ store, runId: 'r', capBytes: 4096, firstSeq: 7 });
    log.system('Release commands interrupted: ...');
    await log.close();
    expect([...chunks.keys()]).toEqual([7]);
  });

  it('tells live followers where cutting starts, after what they have read', async () => {
    const { store, chunks, text } = memoryStore();
    const log = new RunLog({ store, runId: 'r', capBytes: 2000 });
    const line = (i: number) => `line ${String(i).padStart(4, '0')}\n`;
    let followed = -1;
    const seen: string[] = [];
    const follow = () => {
      for (const chunk of [...chunks.values()].sort((a, b) => a.seq - b.seq)) {
        if (chunk.seq > followed) {
          seen.push(chunk.text);
          followed = chunk.seq;
        }
      }
    };
    for (let i = 0; i < 300; i++) {
      log.output(0, 'stdout', line(i));
      await log.flush();
      follow();
    }
    log.system('verdict');
    await log.close();
    follow();

    const live = seen.join('');
    expect(live).toMatch(
      /line 0\d{3}\n\[The log is over its cap from here on: older command output is being cut, and the log will keep the first 1000 B and the last 1000 B of output\]\nline /,
    );
    // A later reader has the seam note instead, between head and tail.
    const stored = text();
    expect(stored).not.toContain('over its cap from here on');
    expect(stored).toMatch(
      /line 0099\n\[1000 B of command output cut here: the log keeps the first 1000 B and the last 1000 B of output, and every line of its own\]\nline 0200\n/,
    );
    expect(stored).toContain('line 0299\nverdict\n');
  });

  it('keeps a failed write and writes it, in order, once the store is back', async () => {
    const { store, text } = memoryStore();
    let down = true;
    const errors: Error[] = [];
    const flaky: RunLogOptions['store'] = {
      writeLog: async (runId, batch) => {
        if (down) throw Object.assign(new Error('connect ECONNREFUSED'), {});
        return store.writeLog(runId, batch);
      },
    };
    const log = new RunLog({
      store: flaky,
      runId: 'r',
      capBytes: 1024 * 1024,
      flushIntervalMs: 5,
      onError: error => errors.push(error),
    });
    log.system('heading');
    for (let i = 0; i < 20; i++) {
      log.output(0, i % 2 ? 'stderr' : 'stdout', `line ${i}\n`);
      await new Promise(resolve => setTimeout(resolve, 10));
    }
    expect(text()).toBe('');
    down = false;
    log.system('verdict');
    await log.close();
    expect(text()).toBe(
      `heading\n${Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join(
        '',
      )}verdict\n`,
    );
    // One report for the streak of failures, not one per attempt.
    expect(errors.map(e => e.message)).toEqual(['connect ECONNREFUSED']);
    expect(log.lostBytes).toBe(0);
  });

  it('says in the log what a write that can never succeed lost', async () => {
    const { store, text } = memoryStore();
    const picky: RunLogOptions['store'] = {
      writeLog: async (runId, batch) => {
        if (batch.append.some(c => c.text.includes('\u0000'))) {
          throw Object.assign(
            new Error('invalid byte sequence for encoding "UTF8": 0x00'),
            { code: '22021' },
          );
        }
        return store.writeLog(runId, batch);
      },
    };
    const log = new RunLog({ store: picky, runId: 'r', capBytes: 4096 });
    log.output(0, 'stdout', 'before\n');
    await log.flush();
    log.output(0, 'stdout', 'bad \u0000 byte\n');
    await log.flush();
    log.output(0, 'stdout', 'after\n');
    await log.close();
    expect(text()).toBe(
      'before\n[11 B of this log could not be stored and are lost: invalid byte sequence for encoding "UTF8": 0x00]\nafter\n',
    );
    expect(log.lostBytes).toBe(11);
  });

  it('gives up when told to, counting what it could not write as lost', async () => {
    const down: RunLogOptions['store'] = {
      writeLog: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const log = new RunLog({ store: down, runId: 'r', capBytes: 4096 });
    log.output(0, 'stdout', 'never stored\n');
    const giveUp = new AbortController();
    const closed = log.close(giveUp.signal);
    await new Promise(resolve => setTimeout(resolve, 300));
    giveUp.abort();
    await closed;
    expect(log.lostBytes).toBe(13);
  });

  it('writes nothing more once the store says the run is no longer its owner', async () => {
    const { store, text } = memoryStore();
    let owned = true;
    const fenced = jest.fn();
    const fencing: RunLogOptions['store'] = {
      writeLog: async (runId, batch, options) => {
        expect(options).toEqual({ ownerInstance: 'me' });
        return owned ? store.writeLog(runId, batch) : false;
      },
    };
    const log = new RunLog({
      store: fencing,
      runId: 'r',
      capBytes: 4096,
      ownerInstance: 'me',
      onFenced: fenced,
    });
    log.output(0, 'stdout', 'mine\n');
    await log.flush();
    owned = false;
    log.output(0, 'stdout', 'too late\n');
    await log.flush();
    log.output(0, 'stdout', 'later still\n');
    await log.close();
    expect(text()).toBe('mine\n');
    expect(fenced).toHaveBeenCalledTimes(1);
  });
});
