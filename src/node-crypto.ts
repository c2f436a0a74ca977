import { createRequire } from "node:module";

let loaded: typeof import("node:crypto") | undefined;

/**
 * node:crypto, loaded on first use. Loading it pulls in ~25 internal modules (a few ms of a CLI
 * start), and `validate`, `plan` and a render with a complete secrets file never generate a secret.
 */
export function nodeCrypto(): typeof import("node:crypto") {
  return (loaded ??= createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto"));
}
