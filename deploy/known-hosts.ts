import { createHash, createHmac, randomBytes } from "node:crypto";
import { appendFile, mkdir, open, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { InputError } from "../src/core/errors.js";
import { hostMatches } from "./ssh-config.js";

/**
 * known_hosts handling as OpenSSH does it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and
 * wildcard host patterns with negation, `[host]:port` for other ports, hashed names
 * (`|1|salt|HMAC-SHA1(salt, name)`, HashKnownHosts), and `@revoked` keys. `@cert-authority`
 * lines are skipped (ha-gen does not do host certificates). An unknown key is refused unless the
 * caller accepts new keys (then it is appended, hashed); a changed key is always refused.
 */

export interface KnownHostLine {
  readonly line: number;
  readonly marker?: "revoked" | "cert-authority";
  /** The host field as written (patterns or a hashed name). */
  readonly hosts: string;
  readonly keyType: string;
  readonly key: Buffer;
}

/** What a known_hosts file says about a host's key: known, unknown, changed (never accepted) or revoked. */
export type HostKeyVerdict =
  | { readonly status: "known"; readonly line: number }
  | { readonly status: "unknown" }
  | { readonly status: "changed"; readonly lines: readonly number[]; readonly expected: readonly string[] }
  | { readonly status: "revoked"; readonly line: number };

export function parseKnownHosts(text: string): KnownHostLine[] {
  const out: KnownHostLine[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t === "" || t.startsWith("#")) return;
    const f = t.split(/\s+/);
    let marker: KnownHostLine["marker"];
    if (f[0]!.startsWith("@")) {
      const m = f.shift()!;
      if (m === "@revoked") marker = "revoked";
      else if (m === "@cert-authority") marker = "cert-authority";
      else return; // unknown marker: OpenSSH ignores the line
    }
    if (f.length < 3) return;
    const key = Buffer.from(f[2]!, "base64");
    if (key.length === 0) return;
    out.push({ line: i + 1, ...(marker ? { marker } : {}), hosts: f[0]!, keyType: f[1]!, key });
  });
  return out;
}

/** The name a host is recorded under: `host`, or `[host]:port` when the port is not 22. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Does a known_hosts host field (patterns or one hashed name) name `name`? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const parts = field.split("|");
    if (parts.length !== 4) return false;
    const salt = Buffer.from(parts[2]!, "base64");
    const want = Buffer.from(parts[3]!, "base64");
    const got = createHmac("sha1", salt).update(name).digest();
    return want.length === got.length && want.equals(got);
  }
  return hostMatches(name, field.split(","));
}

/** The key type named inside an SSH public key blob (e.g. "ssh-ed25519", "ssh-rsa"). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return "";
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString("latin1");
}

/** OpenSSH's fingerprint format: SHA256:<base64 without padding>. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/**
 * Checks `blob` for `name`. A revoked key is refused; a matching key is known; other keys recorded
 * for the name (of any type) make it "changed": ha-gen refuses a host whose recorded keys all
 * differ from the one it presents instead of guessing that a new key type is harmless.
 */
export function checkHostKey(lines: readonly KnownHostLine[], name: string, blob: Buffer): HostKeyVerdict {
  const matching = lines.filter((l) => l.marker !== "cert-authority" && hostFieldMatches(l.hosts, name));
  const revoked = lines.find(
    (l) => l.marker === "revoked" && l.key.equals(blob) && (l.hosts === "*" || hostFieldMatches(l.hosts, name)),
  );
  if (revoked) return { status: "revoked", line: revoked.line };
  const same = matching.find((l) => !l.marker && l.key.equals(blob));
  if (same) return { status: "known", line: same.line };
  const others = matching.filter((l) => !l.marker);
  if (others.length === 0) return { status: "unknown" };
  return {
    status: "changed",
    lines: others.map((l) => l.line),
    expected: others.map((l) => `${l.keyType} ${fingerprint(l.key)}`),
  };
}

/** Key types recorded for `name`, so the client can ask the server for one of those first. */
export function knownKeyTypes(lines: readonly KnownHostLine[], name: string): string[] {
  const types = new Set<string>();
  for (const l of lines) if (!l.marker && hostFieldMatches(l.hosts, name)) types.add(blobKeyType(l.key) || l.keyType);
  return [...types];
}

/** `|1|salt|hash` for `name`, as `ssh-keygen -H` writes it. */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  return `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
}

export function formatKnownHostLine(name: string, blob: Buffer, hashed = true): string {
  return `${hashed ? hashHostName(name) : name} ${blobKeyType(blob)} ${blob.toString("base64")}`;
}

/** A known_hosts file on disk. Reads once; appends serialised so parallel connects do not interleave. */
export class KnownHostsFile {
  private lines: KnownHostLine[] = [];
  private appending: Promise<void> = Promise.resolve();

  private constructor(readonly path: string) {}

  /** Reads a known_hosts file (a missing file holds no keys). */
  static async load(path: string): Promise<KnownHostsFile> {
    const f = new KnownHostsFile(path);
    try {
      f.lines = parseKnownHosts(await readFile(path, "utf8"));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Missing: every key is unknown (and recorded there on first use). Anything else is the user's to fix.
      if (code !== "ENOENT") {
        const why = code === "EISDIR" ? "it is a directory" : (code ?? (e as Error).message);
        throw new InputError(`cannot read known_hosts file ${path}: ${why}`, 2);
      }
    }
    return f;
  }

  /** What this file says about `blob` as the key of host `name` (`[host]:port` for other ports). */
  check(name: string, blob: Buffer): HostKeyVerdict {
    return checkHostKey(this.lines, name, blob);
  }

  /** Key types recorded for `name`, to ask the server for those first. */
  knownTypes(name: string): string[] {
    return knownKeyTypes(this.lines, name);
  }

  /** Appends a hashed entry (trust on first use). */
  record(name: string, blob: Buffer): Promise<void> {
    const entry = formatKnownHostLine(name, blob, true);
    const next = this.appending.then(async () => {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      // Keep the file newline-terminated before appending to it.
      let prefix = "";
      try {
        const fh = await open(this.path, "r");
        try {
          const st = await fh.stat();
          if (st.size > 0) {
            const b = Buffer.alloc(1);
            await fh.read(b, 0, 1, st.size - 1);
            if (b[0] !== 0x0a) prefix = "\n";
          }
        } finally {
          await fh.close();
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      // Created 0600 when new; an existing file keeps the mode its owner chose.
      await appendFile(this.path, `${prefix}${entry}\n`, { mode: 0o600 });
      this.lines = [...this.lines, ...parseKnownHosts(entry).map((l) => ({ ...l, line: -1 }))];
    });
    this.appending = next.catch(() => undefined);
    return next;
  }
}
