// Mints a token: npm run token -- --role user [--sub alice] [--expires 7d] [--hf]
// --hf prints it as hf_<token>, the form Hugging Face clients accept (HF_TOKEN) on /hf.
import { parseArgs } from "node:util";
import { loadConfig } from "../config/config";
import { Role } from "../common/enums";
import { toHfToken } from "./hf-token";
import { signToken } from "./jwt";
import { resolveAuthSecret } from "./secret";
import { isRole } from "./viewer";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A lifetime in seconds, or null. jsonwebtoken reads a bare number in a string as milliseconds
 * ("3600" would be 3.6 s) and accepts zero (a token born expired): both are refused here.
 */
function seconds(text: string): number | null {
  const match = /^(\d{1,9})\s*([smhdw]?)$/.exec(text.trim());
  if (!match) return null;
  const value = Number(match[1]) * UNIT_SECONDS[match[2] || "s"];
  return value > 0 ? value : null;
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main() {
  const { values } = parseArgs({
    options: {
      role: { type: "string", default: Role.SUPERADMIN },
      sub: { type: "string" },
      expires: { type: "string", default: "30d" },
      hf: { type: "boolean", default: false },
    },
  });
  if (!isRole(values.role)) fail(`--role must be one of ${Object.values(Role).join(", ")}`);
  // The server refuses a token without a subject: do not mint one.
  if (values.sub !== undefined && values.sub.trim() === "") fail("--sub must not be empty");
  const lifetime = seconds(values.expires);
  if (lifetime === null) fail(`--expires must be a positive duration: a number of seconds, or with a unit as in 45s, 90m, 12h, 30d, 2w (got "${values.expires}")`);
  const config = loadConfig();
  const { secret } = await resolveAuthSecret(config.jwtSecret, config.dataDir);
  const token = signToken({ sub: values.sub ?? `cli-${values.role}`, role: values.role }, secret, lifetime);
  process.stdout.write(`${values.hf ? toHfToken(token) : token}\n`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
