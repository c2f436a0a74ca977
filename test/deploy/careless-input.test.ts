import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KnownHostsFile, parseKnownHosts } from "../../deploy/known-hosts.js";
import { SshTransport } from "../../deploy/ssh-transport.js";
import { installAuthorizedKey } from "../../deploy/ssh-transport.js";
import type { Connection } from "../../deploy/transport.js";
import { HaGenError, InputError, UsageError } from "../../src/core/errors.js";

/**
 * Files a user points deploy at that cannot be used (a directory as known_hosts or identity, a
 * public key given as the private one, garbage lines): each is a HaGenError naming the file,
 * raised before any connection, never a bare Node error that the CLI would print as a bug.
 */

const dir = mkdtempSync(join(tmpdir(), "ha-gen-careless-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, "id_ed25519");
spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);

const transport = async (identityFiles: string[]) =>
  new SshTransport({
    // Port 9 on loopback: nothing may be sent anyway, the identity is refused first.
    resolve: (n) => ({
      alias: n,
      hostname: "127.0.0.1",
      hostnameFromConfig: true,
      port: 9,
      identityFiles: [],
      identitiesOnly: false,
      proxyJump: [],
      ignored: [],
    }),
    knownHosts: await KnownHostsFile.load(join(dir, "known_hosts")),
    acceptNewHostKeys: false,
    defaultUser: "root",
    identityFiles,
    connectRetries: 0,
  });

describe("careless input to the SSH side of deploy", () => {
  it("a known_hosts path that is a directory is an InputError naming it (regression: bare EISDIR)", async () => {
    const d = join(dir, "kh-dir");
    mkdirSync(d);
    const err = await KnownHostsFile.load(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    expect((err as Error).message).toBe(`cannot read known_hosts file ${d}: it is a directory`);
  });

  it("malformed known_hosts lines are skipped, as OpenSSH skips them, without throwing", () => {
    const text = "@revoked\n|1|!!|??? ssh-ed25519 AAAA\nhost\n\0\0\0 x y z\n[h]:99999 ssh-ed25519 ////\n";
    expect(() => parseKnownHosts(text)).not.toThrow();
  });

  it("an identity that is a directory, missing or a public key is a UsageError naming it, first", async () => {
    const d = join(dir, "id-dir");
    mkdirSync(d);
    for (const [path, why] of [
      [d, "is a directory"],
      [join(dir, "nope"), "does not exist"],
      [`${key}.pub`, "is a public key, not the private key"],
    ] as const) {
      const err = await (await transport([path])).connect("n1").catch((e: unknown) => e);
      expect(err, path).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(`identity file ${path} ${why}`);
    }
  });

  it("installAuthorizedKey reports a bad key or a remote failure as HaGenErrors (regression: bare Error)", async () => {
    const failing: Connection = {
      user: "op",
      exec: async () => ({ code: 1, stdout: "", stderr: "read-only file system\n" }),
      writeFile: async () => undefined,
      close: async () => undefined,
    };
    const bad = await installAuthorizedKey(failing, "not a key").catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UsageError);
    const remote = await installAuthorizedKey(failing, "ssh-ed25519 AAAAC3Nz op@x").catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(HaGenError);
    expect((remote as Error).message).toContain("read-only file system");
  });
});
