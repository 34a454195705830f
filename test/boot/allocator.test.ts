import { allocatorReexec, MMAP_THRESHOLD } from "../../src/boot/allocator";

const linux = {
  platform: "linux" as const,
  env: { PATH: "/usr/bin" },
  execPath: "/opt/node/bin/node",
  execArgv: ["--max-semi-space-size=2", "--expose-gc"],
  argv: ["/opt/node/bin/node", "/app/dist/src/main.js", "--flag-of-the-service"],
};

describe("re-executing with glibc's mmap threshold", () => {
  it("replaces a Linux process without MALLOC_MMAP_THRESHOLD_ by one with it, keeping node's flags, the script, its arguments and the environment", () => {
    expect(allocatorReexec(linux)).toEqual({
      file: "/opt/node/bin/node",
      args: ["/opt/node/bin/node", "--max-semi-space-size=2", "--expose-gc", "/app/dist/src/main.js", "--flag-of-the-service"],
      env: { PATH: "/usr/bin", MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD },
    });
    expect(MMAP_THRESHOLD).toBe("131072");
  });

  it("leaves a process alone that has the variable already, whatever its value", () => {
    expect(allocatorReexec({ ...linux, env: { MALLOC_MMAP_THRESHOLD_: MMAP_THRESHOLD } })).toBeNull();
    expect(allocatorReexec({ ...linux, env: { MALLOC_MMAP_THRESHOLD_: "65536" } })).toBeNull();
  });

  it("leaves a process alone off Linux, where the variable means nothing (and Windows has no execve)", () => {
    expect(allocatorReexec({ ...linux, platform: "win32" })).toBeNull();
    expect(allocatorReexec({ ...linux, platform: "darwin" })).toBeNull();
  });
});
