import { randomBytes } from "node:crypto";
import { installSecretKeyring, SecretKeyring } from "../../src/common/secrets";

// Tests that use storage or registries without booting a server still read and write sealed secrets; a boot installs its own.
installSecretKeyring(new SecretKeyring([{ id: "test", key: randomBytes(32) }]));
