// Mints a token: npm run token -- --role user [--sub alice] [--expires 7d | --ttl 7d] [--hf]
// --hf prints it as hf_<token>, the form Hugging Face clients accept (HF_TOKEN) on /hf.
// Every token expires: at most AUTH_MAX_TOKEN_TTL after it is issued (30 days by default).
// --secrets-key prints instead the key `auth` of SECRETS_ENCRYPTION_KEYS written out (auth:<base64>),
// which keeps opening stored secrets once AUTH_JWT_SECRET changes (docs/configuration.md).
import { parseArgs } from "node:util";
import { loadConfig } from "../config/config";
import { Role } from "../common/enums";
import { authDerivedKey } from "../common/secrets";
import { parseDurationSeconds } from "../common/duration";
import { toHfToken } from "./hf-token";
import { defaultTokenLifetime, signToken } from "./jwt";
import { resolveAuthSecret } from "./secret";
import { isRole } from "./viewer";

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function main() {
  const { values } = parseArgs({
    options: {
      role: { type: "string", default: Role.SUPERADMIN },
      sub: { type: "string" },
      expires: { type: "string" },
      ttl: { type: "string" },
      hf: { type: "boolean", default: false },
      "secrets-key": { type: "boolean", default: false },
    },
  });
  if (values["secrets-key"]) {
    const config = loadConfig();
    const { secret } = await resolveAuthSecret(config.jwtSecret, config.dataDir);
    const { id, key } = authDerivedKey(secret);
    process.stdout.write(`${id}:${key.toString("base64")}\n`);
    return;
  }
  if (!isRole(values.role)) fail(`--role must be one of ${Object.values(Role).join(", ")}`);
  // The server refuses a token without a subject: do not mint one.
  if (values.sub !== undefined && values.sub.trim() === "") fail("--sub must not be empty");
  if (values.expires !== undefined && values.ttl !== undefined) fail("give --expires or --ttl, not both");
  const flag = values.ttl !== undefined ? "--ttl" : "--expires";
  const asked = values.ttl ?? values.expires;
  const config = loadConfig();
  const lifetime = asked === undefined ? defaultTokenLifetime(config.auth.maxTokenTtlSeconds) : parseDurationSeconds(asked);
  if (lifetime === null) fail(`${flag} must be a positive duration: a number of seconds, or with a unit as in 45s, 90m, 12h, 30d, 2w (got "${asked}")`);
  if (lifetime > config.auth.maxTokenTtlSeconds) {
    fail(`${flag} ${asked} is longer than the ${config.auth.maxTokenTtlSeconds} s the server accepts (AUTH_MAX_TOKEN_TTL): the token would be refused`);
  }
  const { secret } = await resolveAuthSecret(config.jwtSecret, config.dataDir);
  const token = signToken({ sub: values.sub ?? `cli-${values.role}`, role: values.role }, secret, lifetime);
  process.stdout.write(`${values.hf ? toHfToken(token) : token}\n`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
