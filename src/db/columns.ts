import type { ValueTransformer } from "typeorm";

/** bigint columns come back from pg as strings; sizes stay exact as strings end to end (ByteSize). */
export const bigintAsString: ValueTransformer = {
  to: (v: string | number | bigint | null | undefined) => (v == null ? v : String(v)),
  from: (v: string | null) => v,
};
