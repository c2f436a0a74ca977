import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  blobKeyType,
  checkHostKey,
  fingerprint,
  hashHostName,
  hostFieldMatches,
  KnownHostsFile,
  knownHostName,
  knownKeyTypes,
  parseKnownHosts,
} from "../../deploy/known-hosts.js";
import { hostKeyAlgorithms } from "../../deploy/ssh-transport.js";

/** known_hosts matching (plain, wildcard, negated, [host]:port, hashed, @revoked), cross-checked with ssh-keygen. */

const dir = mkdtempSync(join(tmpdir(), "ha-gen-kh-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newKey(name: string, type = "ed25519"): { line: string; blob: Buffer } {
  const p = join(dir, name);
  const r = spawnSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", p], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  const pub = readFileSync(`${p}.pub`, "utf8").trim().split(" ");
  return { line: `${pub[0]} ${pub[1]}`, blob: Buffer.from(pub[1]!, "base64") };
}

const A = newKey("a");
const B = newKey("b");
const R = newKey("r", "rsa");

describe("known_hosts", () => {
  it("names hosts as OpenSSH does: bare for port 22, [host]:port otherwise, lower-case", () => {
    expect(knownHostName("Controller01", 22)).toBe("controller01");
    expect(knownHostName("127.0.0.2", 2222)).toBe("[127.0.0.2]:2222");
  });

  it("reads the key type from the blob and prints OpenSSH's fingerprint", () => {
    expect(blobKeyType(A.blob)).toBe("ssh-ed25519");
    expect(blobKeyType(R.blob)).toBe("ssh-rsa");
    const pub = join(dir, "a.pub");
    const r = spawnSync("ssh-keygen", ["-l", "-E", "sha256", "-f", pub], { encoding: "utf8" });
    expect(r.stdout).toContain(fingerprint(A.blob));
  });

  it("matches plain, wildcard, negated and [host]:port patterns", () => {
    expect(hostFieldMatches("controller01,10.15.253.163", "10.15.253.163")).toBe(true);
    expect(hostFieldMatches("controller*", "controller02")).toBe(true);
    expect(hostFieldMatches("*.lab,!bad.lab", "bad.lab")).toBe(false);
    expect(hostFieldMatches("[127.0.0.2]:2222", "[127.0.0.2]:2222")).toBe(true);
    expect(hostFieldMatches("127.0.0.2", "[127.0.0.2]:2222")).toBe(false);
  });

  it("matches hashed names written by ssh-keygen -H, and its own hashes are found by ssh-keygen -F", () => {
    const f = join(dir, "hashed");
    writeFileSync(f, `[127.0.0.9]:2200 ${A.line}\nplainhost ${B.line}\n`);
    expect(spawnSync("ssh-keygen", ["-H", "-f", f]).status).toBe(0);
    const lines = parseKnownHosts(readFileSync(f, "utf8"));
    expect(lines.every((l) => l.hosts.startsWith("|1|"))).toBe(true);
    expect(checkHostKey(lines, "[127.0.0.9]:2200", A.blob)).toMatchObject({ status: "known" });
    expect(checkHostKey(lines, "plainhost", B.blob)).toMatchObject({ status: "known" });
    expect(checkHostKey(lines, "otherhost", B.blob)).toEqual({ status: "unknown" });

    const mine = join(dir, "mine");
    writeFileSync(mine, `${hashHostName("[10.1.1.1]:2022")} ${A.line}\n`);
    const r = spawnSync("ssh-keygen", ["-F", "[10.1.1.1]:2022", "-f", mine], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(spawnSync("ssh-keygen", ["-F", "[10.1.1.2]:2022", "-f", mine]).status).not.toBe(0);
  });

  it("says changed when the name has other keys, of the same or another type", () => {
    const lines = parseKnownHosts(`h1 ${A.line}\nh2 ${R.line}\n`);
    const same = checkHostKey(lines, "h1", B.blob);
    expect(same.status).toBe("changed");
    expect(same.status === "changed" && same.expected[0]).toBe(`ssh-ed25519 ${fingerprint(A.blob)}`);
    expect(checkHostKey(lines, "h2", A.blob).status).toBe("changed");
  });

  it("refuses @revoked keys and skips @cert-authority lines and comments", () => {
    const lines = parseKnownHosts(`# comment\n@revoked * ${A.line}\n@cert-authority *.lab ${B.line}\nh1 ${A.line}\n`);
    expect(checkHostKey(lines, "h1", A.blob)).toMatchObject({ status: "revoked" });
    expect(checkHostKey(lines, "x.lab", B.blob)).toEqual({ status: "unknown" });
  });

  it("offers the recorded key type first (rsa-sha2-* for ssh-rsa)", () => {
    const lines = parseKnownHosts(`h ${R.line}\n`);
    expect(knownKeyTypes(lines, "h")).toEqual(["ssh-rsa"]);
    expect(hostKeyAlgorithms(["ssh-rsa"]).slice(0, 3)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(hostKeyAlgorithms([])[0]).toBe("ssh-ed25519");
  });

  it("records new keys (hashed) without breaking an unterminated last line", async () => {
    const f = join(dir, "append");
    writeFileSync(f, `other ${B.line}`); // no final newline
    const kh = await KnownHostsFile.load(f);
    await Promise.all([kh.record("[127.0.0.3]:22", A.blob), kh.record("[127.0.0.4]:22", A.blob)]);
    const text = readFileSync(f, "utf8");
    expect(text.split("\n").filter(Boolean)).toHaveLength(3);
    expect(kh.check("[127.0.0.3]:22", A.blob).status).toBe("known");
    const reread = await KnownHostsFile.load(f);
    expect(reread.check("[127.0.0.4]:22", A.blob).status).toBe("known");
    expect(reread.check("other", B.blob).status).toBe("known");
  });
});
