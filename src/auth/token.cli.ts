// Mints a token: npm run token -- --role user [--sub alice] [--expires 7d] [--hf]
// --hf prints it as hf_<token>, the form Hugging Face clients accept (HF_TOKEN) on /hf.
import { parseArgs } from "node:util";
import { loadConfig } from "../config/config";
import { Role } from "../common/enums";
import { toHfToken } from "./hf-token";
import { signToken } from "./jwt";
import { resolveAuthSecret } from "./secret";
import { isRole } from "./viewer";

async function main() {
  const { values } = parseArgs({
    options: {
      role: { type: "string", default: Role.SUPERADMIN },
      sub: { type: "string" },
      expires: { type: "string", default: "30d" },
      hf: { type: "boolean", default: false },
    },
  });
  if (!isRole(values.role)) {
    console.error(`--role must be one of ${Object.values(Role).join(", ")}`);
    process.exit(1);
  }
  const config = loadConfig();
  const { secret } = await resolveAuthSecret(config.jwtSecret, config.dataDir);
  const token = signToken({ sub: values.sub ?? `cli-${values.role}`, role: values.role }, secret, values.expires as never);
  process.stdout.write(`${values.hf ? toHfToken(token) : token}\n`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
