import { fromBothEnds } from "../../src/import/pipeline/lanes";

/* Files fetched from both ends of a list sorted smallest first: small ones beside large ones. */

/** Runs fromBothEnds over `items`; each item's work ends only when the test says so. */
function started(items: number[], concurrency: number) {
  const running = new Map<number, { finish: (error?: Error) => void }>();
  const order: number[] = [];
  const done = fromBothEnds(items, concurrency, (item) => new Promise<void>((resolve, reject) => {
    order.push(item);
    running.set(item, { finish: (error) => (error ? reject(error) : resolve()) });
  }));
  const finish = async (item: number, error?: Error) => {
    running.get(item)!.finish(error);
    running.delete(item);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { order, running, done, finish };
}

describe("fromBothEnds", () => {
  it("gives half the slots to the smallest items and the others to the largest", async () => {
    const run = started([1, 2, 3, 4, 5, 6, 7, 8], 4);
    expect(run.order).toEqual([1, 2, 8, 7]);

    await run.finish(1);
    await run.finish(8);
    expect(run.order).toEqual([1, 2, 8, 7, 3, 6]);
  });

  it("works every item once, the slots meeting in the middle", async () => {
    const run = started([1, 2, 3, 4, 5], 2);
    while (run.running.size > 0) await run.finish([...run.running.keys()][0]!);
    await run.done;
    expect([...run.order].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it("with one slot, goes smallest first", async () => {
    const run = started([1, 2, 3], 1);
    await run.finish(1);
    await run.finish(2);
    await run.finish(3);
    await run.done;
    expect(run.order).toEqual([1, 2, 3]);
  });

  it("lets the other slots finish the list when one fails, then throws the failure", async () => {
    const run = started([1, 2, 3, 4], 2);
    const outcome = run.done.then(() => "resolved", (error: Error) => error.message);
    await run.finish(1, new Error("broken"));
    expect(run.order).toEqual([1, 4]);
    await run.finish(4);
    await run.finish(3);
    await run.finish(2);
    expect(await outcome).toBe("broken");
    expect(run.order).toEqual([1, 4, 3, 2]);
  });
});
