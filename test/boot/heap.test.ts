import { collectAfterImports } from "../../src/boot/heap";

describe("collecting after the last import", () => {
  it("runs a full collection when node exposes gc", () => {
    const gc = jest.fn();

    expect(collectAfterImports(gc)).toBe(true);
    expect(gc).toHaveBeenCalledTimes(1);
  });

  it("does nothing when node runs without --expose-gc", () => {
    expect(collectAfterImports(null)).toBe(false);
  });
});
