// CPU per HS256 verification: jsonwebtoken given the secret as a string, or as a KeyObject built once.
// npm run bench:jwt -- [verifications per round]
import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";

const n = Number(process.argv[2] ?? 50_000);
const secret = "x".repeat(64);
const key = createSecretKey(Buffer.from(secret, "utf8"));
const token = jwt.sign({ role: "user" }, secret, { algorithm: "HS256", subject: "bench", expiresIn: 3600 });

function cpuPerVerify(k: string | KeyObject): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) jwt.verify(token, k, { algorithms: ["HS256"] });
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

cpuPerVerify(secret);
cpuPerVerify(key);
for (let round = 1; round <= 3; round++) {
  const [s, k] = [cpuPerVerify(secret), cpuPerVerify(key)];
  console.log(`round ${round}: string ${s.toFixed(1)} µs CPU/verify, KeyObject ${k.toFixed(1)} µs, ratio ${(s / k).toFixed(1)}`);
}
