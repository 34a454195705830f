import { artifactConditions } from "../../src/artifact/artifact.query";
import { AppError } from "../../src/common/errors";
import { FILTER_MAX_LIST, FILTER_MAX_NODES } from "../../src/common/filters.sql";
import { SqlParams } from "../../src/common/sql";
import { querySignature } from "../../src/revision/revision.loader";

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? error.code : String(error);
  }
  return "no error";
};

describe("filter compilation", () => {
  it("binds every user value as a parameter, never as SQL text", () => {
    const params = new SqlParams();
    const hostile = "x'); DROP TABLE artifacts; --";
    const where = artifactConditions({ name: { contains: hostile, iIn: [hostile] }, source: { notEquals: hostile } }, params, false).join(" ");
    expect(where).not.toContain("DROP");
    expect(params.values).toEqual([`%${hostile}%`, [hostile], hostile]);
  });

  it("escapes LIKE wildcards in contains/startsWith/endsWith", () => {
    const params = new SqlParams();
    artifactConditions({ name: { startsWith: "50%_off\\" } }, params, false);
    expect(params.values).toEqual(["50\\%\\_off\\\\%"]);
  });

  it("refuses a filter with more than 100 objects or an in-list of more than 1000 values", () => {
    const wide = { OR: Array.from({ length: FILTER_MAX_NODES }, () => ({ name: { equals: "a" } })) };
    expect(codeOf(() => artifactConditions(wide, new SqlParams(), false))).toBe("BAD_USER_INPUT");
    const long = { name: { in: Array.from({ length: FILTER_MAX_LIST + 1 }, (_, i) => `n${i}`) } };
    expect(codeOf(() => artifactConditions(long, new SqlParams(), false))).toBe("BAD_USER_INPUT");
  });

  it("gives equal arguments the same batch signature whatever their key order or null fields", () => {
    const a = { filter: { version: { equals: "1", contains: null }, status: { in: ["PULLING"] } }, paging: { kind: "offset", limit: 1, offset: 0 } };
    const b = { paging: { offset: 0, limit: 1, kind: "offset" }, filter: { status: { in: ["PULLING"] }, version: { equals: "1" } } };
    expect(querySignature(a)).toBe(querySignature(b));
    expect(querySignature(a)).not.toBe(querySignature({ ...a, paging: { ...a.paging, offset: 1 } }));
  });
});
