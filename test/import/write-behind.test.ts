import { WriteBehind } from "../../src/import/pipeline/write-behind";

/* Notes written behind the work: one statement at a time, batching what arrives meanwhile. */

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A WriteBehind whose writes finish only when the test says so, its first note (1) already being written. */
async function writingFirstNote() {
  const writes: Array<{ notes: number[]; finish: (error?: Error) => void }> = [];
  const notes = new WriteBehind((batch: number[]) => new Promise<void>((resolve, reject) => {
    writes.push({ notes: batch, finish: (error) => (error ? reject(error) : resolve()) });
  }));
  notes.add(1);
  await tick();
  return { writes, notes, batches: () => writes.map((w) => w.notes) };
}

describe("WriteBehind", () => {
  it("writes the first note at once and every note that arrives meanwhile in the next statement", async () => {
    const { writes, notes, batches } = await writingFirstNote();
    notes.add(2);
    notes.add(3);
    await tick();
    expect(batches()).toEqual([[1]]);

    writes[0]!.finish();
    await tick();
    expect(batches()).toEqual([[1], [2, 3]]);
    writes[1]!.finish();
    await notes.flush();
    expect(writes).toHaveLength(2);
  });

  it("flush waits for the notes added before it, including those still queued", async () => {
    const { writes, notes, batches } = await writingFirstNote();
    notes.add(2);
    let flushed = false;
    const flushing = notes.flush().then(() => (flushed = true));
    await tick();
    writes[0]!.finish();
    await tick();
    expect(flushed).toBe(false);
    expect(batches()).toEqual([[1], [2]]);
    writes[1]!.finish();
    await flushing;
    expect(flushed).toBe(true);
  });

  it("with lingerMs, waits that long for more notes before each statement, unless flushed", async () => {
    jest.useFakeTimers();
    try {
      const written: number[][] = [];
      const notes = new WriteBehind(async (batch: number[]) => void written.push(batch), { lingerMs: 100 });
      notes.add(1);
      await jest.advanceTimersByTimeAsync(60);
      notes.add(2);
      expect(written).toEqual([]);
      await jest.advanceTimersByTimeAsync(40);
      expect(written).toEqual([[1, 2]]);

      notes.add(3);
      await jest.advanceTimersByTimeAsync(10);
      expect(written).toEqual([[1, 2]]);
      // A flush does not wait out the linger.
      await notes.flush();
      expect(written).toEqual([[1, 2], [3]]);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it("with lingerMs, writes a full batch at once, and lingers only for the rest", async () => {
    jest.useFakeTimers();
    try {
      const written: number[][] = [];
      const notes = new WriteBehind(async (batch: number[]) => void written.push(batch), { lingerMs: 100, maxBatch: 2 });
      for (let i = 1; i <= 3; i++) notes.add(i);
      await jest.advanceTimersByTimeAsync(0);
      expect(written).toEqual([[1, 2]]);
      await jest.advanceTimersByTimeAsync(100);
      expect(written).toEqual([[1, 2], [3]]);
      await notes.flush();
    } finally {
      jest.useRealTimers();
    }
  });

  it("splits a long queue into statements of at most maxBatch notes", async () => {
    const written: number[][] = [];
    const notes = new WriteBehind(async (batch: number[]) => void written.push(batch), { maxBatch: 2 });
    for (let i = 1; i <= 5; i++) notes.add(i);
    await notes.flush();
    expect(written).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("throws a failed write from flush, and drops the notes queued behind it", async () => {
    const { writes, notes, batches } = await writingFirstNote();
    notes.add(2);
    writes[0]!.finish(new Error("connection terminated"));
    await expect(notes.flush()).rejects.toThrow("connection terminated");
    notes.add(3);
    await expect(notes.flush()).rejects.toThrow("connection terminated");
    expect(batches()).toEqual([[1]]);
  });

  it("survives a writer that throws before returning a promise", async () => {
    const notes = new WriteBehind<number>(() => {
      throw new Error("bad statement");
    });
    notes.add(1);
    await expect(notes.flush()).rejects.toThrow("bad statement");
  });

  it.each([0, 1, 2, 3, 4, 5, 6])("writes a note that arrives %i microtasks after the last write finished", async (delay) => {
    const { writes, notes, batches } = await writingFirstNote();
    writes[0]!.finish();
    for (let i = 0; i < delay; i++) await Promise.resolve();
    notes.add(2);
    const flushed = notes.flush();
    await tick();
    writes[1]?.finish();
    await flushed;
    expect(batches()).toEqual([[1], [2]]);
  });

  it("calls onFailure once, when a write first fails", async () => {
    const failures: unknown[] = [];
    const notes = new WriteBehind<number>(async () => {
      throw new Error("connection terminated");
    }, { onFailure: (error) => void failures.push(error) });
    notes.add(1);
    await expect(notes.flush()).rejects.toThrow("connection terminated");
    notes.add(2);
    await expect(notes.flush()).rejects.toThrow("connection terminated");
    expect(failures).toEqual([new Error("connection terminated")]);
  });

  it("has nothing to wait for when nothing was added", async () => {
    await expect(new WriteBehind(async () => undefined).flush()).resolves.toBeUndefined();
  });
});
