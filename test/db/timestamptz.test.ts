import { Client, types } from "pg";
import { parseTimestamptz, pgTypes } from "../../src/db/timestamptz";
import { testPgUrl } from "../support/database";

const pgParse = types.getTypeParser(1184, "text") as (text: string) => Date | number | null;
const same = (text: string) => {
  const ours = parseTimestamptz(text);
  const theirs = pgParse(text);
  return ours instanceof Date && theirs instanceof Date ? ours.getTime() === theirs.getTime() || (isNaN(ours.getTime()) && isNaN(theirs.getTime())) : ours === theirs;
};

describe("timestamptz parsing", () => {
  it("reads every timestamptz PostgreSQL writes, in any session time zone, as pg's own parser does", async () => {
    const client = new Client({ connectionString: testPgUrl(), types: pgTypes });
    const plain = new Client({ connectionString: testPgUrl() });
    await Promise.all([client.connect(), plain.connect()]);
    try {
      const sql = `SELECT t, t::text AS text FROM (VALUES
        ('2026-07-01 12:00:00.5+00'), ('2026-12-03 21:18:33.123456+00'), ('2026-12-03 21:18:33.1+00'), ('2026-12-03 21:18:33+00'),
        ('0101-01-01 00:00:00+00'), ('0050-06-15 12:00:00+00'), ('0044-03-15 12:00:00+00 BC'), ('9999-12-31 23:59:59.999999+00'),
        ('10000-01-01 00:00:00+00'), ('infinity'), ('-infinity'), ('1969-12-31 23:59:59.999+00'), ('2000-02-29 12:34:56.000001+00')
      ) AS v(t)`;
      for (const zone of ["UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam", "Pacific/Chatham", "Africa/Monrovia"]) {
        await client.query(`SET TimeZone = '${zone}'`);
        await plain.query(`SET TimeZone = '${zone}'`);
        // 1919 in Monrovia: an offset of -00:44:30, written to the second.
        const extra = zone === "Africa/Monrovia" ? ", ('1919-06-01 12:00:00+00')" : "";
        const [ours, theirs] = await Promise.all([client.query(sql.replace(") AS v(t)", `${extra}) AS v(t)`)), plain.query(sql.replace(") AS v(t)", `${extra}) AS v(t)`))]);
        expect(ours.rows.map((r) => [r.text, r.t instanceof Date ? r.t.getTime() : r.t])).toEqual(theirs.rows.map((r) => [r.text, r.t instanceof Date ? r.t.getTime() : r.t]));
      }
    } finally {
      await Promise.all([client.end(), plain.end()]);
    }
  });

  it("answers as pg's parser for offsets, fractions and forms it does not read itself", () => {
    const texts: string[] = [];
    for (const fraction of ["", ".1", ".12", ".123", ".1234", ".12345", ".123456", ".999999", ".000001", ".291", ".009"]) {
      for (const zone of ["+00", "-05", "+05:30", "-03:30", "+12:45", "-00:44:30", "+14", "Z", "", "+5", "+05:3"]) {
        texts.push(`2026-03-29 01:59:59${fraction}${zone}`, `1900-01-01 00:00:00${fraction}${zone}`, `0100-12-31 23:59:59${fraction}${zone}`);
      }
    }
    texts.push("2026-12-03 21:18:33.1234567+00", "2026-12-03T21:18:33+00", "2026-12-03 21:18:33+00 BC", "infinity", "-infinity", "2026-12-03", "garbage", "");
    expect(texts.filter((text) => !same(text))).toEqual([]);
  });
});
