import { randomInt } from "node:crypto";
import { parse, Scalar, stringify } from "yaml";
import * as z from "zod";

/**
 * Every secret a cluster needs: the seed guide's password table (named like the OpenStack install
 * guide's placeholders) plus what the guide left at defaults or shared.
 */
export const SECRET_KEYS = [
  "admin_pass",
  "cinder_dbpass",
  "cinder_pass",
  "clustercheck_pass",
  "dash_dbpass",
  "erlang_cookie",
  "glance_dbpass",
  "glance_pass",
  "hacluster_pass",
  "haproxy_stats_pass",
  "keystone_dbpass",
  "mariadb_root_pass",
  "metadata_secret",
  "neutron_dbpass",
  "neutron_pass",
  "nova_dbpass",
  "nova_pass",
  "placement_pass",
  "rabbit_pass",
] as const;

/** The name of one secret, such as `nova_dbpass`. */
export type SecretKey = (typeof SECRET_KEYS)[number];
/** Every secret by name: what {@link renderCluster} needs. */
export type Secrets = Readonly<Record<SecretKey, string>>;

/** The variable that holds `key` in a node's secrets.env (sourced by the step scripts). */
export function secretEnvName(key: SecretKey): string {
  return key.toUpperCase();
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** CSPRNG string; uniform over the alphabet (randomInt has no modulo bias). */
function randomString(alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

export function generateSecret(key: SecretKey): string {
  // RabbitMQ's own generated cookies are 20 upper-case letters; a longer one is as valid.
  return key === "erlang_cookie" ? randomString(UPPER, 32) : randomString(ALNUM, 32);
}

/** A secrets file problem: the key (empty for the file as a whole) and why, never the value. */
export interface SecretIssue {
  readonly key: string;
  readonly message: string;
}

/**
 * Unicode White_Space, which Elixir's String.trim strips (RabbitMQ's CLI trims a password read from
 * stdin with it); a superset of glibc's [[:space:]] in UTF-8 locales.
 */
const SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const EDGE_SPACE = new RegExp(`^${SPACE}|${SPACE}$`);

/**
 * Rules per key: each refuses what a consumer of that secret cannot take. Values are never echoed
 * in messages. Consumers: secrets.env (sh-quoted, sourced by bash and dash), SQL (MariaDB literal),
 * my.cnf (mysys option file), chpasswd and pcs (a line on stdin), rabbitmqctl (a line on stdin),
 * haproxy.cfg (`stats auth`), the Erlang cookie file; the other keys only live in the secrets file.
 */
export function checkSecret(key: SecretKey, value: unknown): string | undefined {
  if (typeof value !== "string") return "must be a string";
  // A lone surrogate (a "\uD800" escape in YAML) has no UTF-8 form: every file would get U+FFFD instead.
  if (/[\uD800-\uDFFF]/u.test(value)) return "must be valid Unicode text (no lone \\uD800-\\uDFFF escapes)";
  if (value.length < 8) return "must be at least 8 characters";
  // Keeps every consumer's line short: my.cnf's 4000 bytes quoted, chpasswd's 8 KiB line buffer.
  if (value.length > 256) return "must be at most 256 characters";
  // chpasswd, pcs and rabbitmqctl read one line; bash strings and my.cnf lines end at NUL.
  if (/[\u0000-\u001f\u007f]/.test(value)) return "must not contain control characters (newline, tab, NUL)";
  // Erlang makes the cookie an atom (at most 255 characters); RabbitMQ's own cookies are letters.
  if (key === "erlang_cookie" && !/^[A-Za-z0-9]{20,255}$/.test(value)) return "must be 20-255 letters and digits";
  // HAProxy 1.8 and 2.x read quotes and `$` differently in `stats auth` (spaces are escaped alike).
  if (key === "haproxy_stats_pass" && /['"$]/.test(value)) return "must not contain quotes or $";
  // rabbitmqctl trims surrounding whitespace off a password read from stdin: the user would get
  // another password than the services, and the configure step refuses such a value at deploy time.
  if (key === "rabbit_pass" && EDGE_SPACE.test(value)) {
    return "must not start or end with whitespace (rabbitmqctl would drop it)";
  }
  // chpasswd splits `hacluster:password` at the first colon, so colons in the password are kept.
  return undefined;
}

/** A secrets file after {@link fillSecrets}: complete secrets, what was generated, unknown keys kept as they were. */
export interface SecretsFileState {
  /** Secrets, complete. */
  readonly secrets: Secrets;
  /** Keys that were missing and have just been generated (the file must be rewritten). */
  readonly generated: readonly SecretKey[];
  /** Keys in the file that ha-gen does not use; kept untouched. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/**
 * The secrets file: a YAML mapping of key to value. Its known keys are one zod schema, used by the
 * reader (readSecretsFile) and the writer (serializeSecrets). A key that is missing or null is
 * generated. Messages never carry a value.
 */
const secretValue = (key: SecretKey) =>
  z
    .string({ error: "must be a string" })
    .check(
      z.superRefine((v, ctx) => {
        const problem = checkSecret(key, v);
        if (problem) ctx.addIssue({ code: "custom", message: problem, input: undefined });
      }),
    )
    .nullish();
export const secretsFileSchema = z.strictObject(
  Object.fromEntries(SECRET_KEYS.map((k) => [k, secretValue(k)])) as Record<SecretKey, ReturnType<typeof secretValue>>,
);
export type SecretsFile = z.infer<typeof secretsFileSchema>;

/** What a secrets file holds: its known keys (checked), the others, and every string value. */
export interface SecretsFileContent {
  readonly known: Readonly<Partial<Record<SecretKey, string>>>;
  readonly extra: Readonly<Record<string, unknown>>;
  /** Every string value in the file, extra keys' included (all are redacted from output). */
  readonly values: readonly string[];
  readonly issues: readonly SecretIssue[];
}

const isKnown = (k: string): k is SecretKey => (SECRET_KEYS as readonly string[]).includes(k);

/** Reads a secrets file's text; an empty file or one of comments only is an empty mapping. */
export function readSecretsFile(text: string): SecretsFileContent {
  const none = { known: {}, extra: {}, values: [] };
  let doc: unknown = {};
  if (text.trim() !== "") {
    try {
      // logLevel "error": YAML warnings (e.g. an unknown tag) would print the offending line, secret
      // included, to stderr. Errors still throw; their message quotes the line too, so it is dropped.
      doc = parse(text, { logLevel: "error" }) ?? {};
    } catch (e) {
      const pos = (e as { linePos?: { line: number; col: number }[] }).linePos?.[0];
      const where = pos ? ` (line ${pos.line}, column ${pos.col})` : "";
      return { ...none, issues: [{ key: "", message: `is not valid YAML${where}` }] };
    }
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return { ...none, issues: [{ key: "", message: "must be a YAML mapping of key: value" }] };
  }
  const entries = Object.entries(doc);
  const r = secretsFileSchema.safeParse(Object.fromEntries(entries.filter(([k]) => isKnown(k))));
  const issues = r.success ? [] : r.error.issues.map((i) => ({ key: String(i.path[0] ?? ""), message: i.message }));
  const invalid = new Set(issues.map((i) => i.key));
  const known: Partial<Record<SecretKey, string>> = {};
  for (const [k, v] of entries) if (isKnown(k) && !invalid.has(k) && typeof v === "string") known[k] = v;
  const values: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string") values.push(v);
    else if (v && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(doc);
  // fromEntries defines own properties, so an extra key named __proto__ is kept like any other.
  return { known, extra: Object.fromEntries(entries.filter(([k]) => !isKnown(k))), values, issues };
}

/** Parse an existing secrets file's text (or undefined when there is none) and fill missing keys. */
export function fillSecrets(
  existingText: string | undefined,
  generate: (key: SecretKey) => string = generateSecret,
): { state: SecretsFileState; issues: SecretIssue[] } {
  const file = readSecretsFile(existingText ?? "");
  if (file.issues.some((i) => i.key === "")) {
    return { state: { secrets: {} as Secrets, generated: [], extra: {} }, issues: [...file.issues] };
  }
  const invalid = new Set(file.issues.map((i) => i.key));
  const out: Partial<Record<SecretKey, string>> = { ...file.known };
  const generated: SecretKey[] = [];
  for (const key of SECRET_KEYS) {
    if (out[key] !== undefined || invalid.has(key)) continue;
    out[key] = generate(key);
    generated.push(key);
  }
  return { state: { secrets: out as Secrets, generated, extra: file.extra }, issues: [...file.issues] };
}

/**
 * The text of a secrets file (YAML, keys sorted, a header saying to keep it private) for `state`;
 * write it with mode 0600. Unknown keys are kept. Throws if a value would not read back.
 */
export function serializeSecrets(state: SecretsFileState): string {
  // What is written must read back: the same schema as the reader (a generator bug would show here).
  const check = secretsFileSchema.safeParse(state.secrets);
  if (!check.success)
    throw new Error(`internal: secrets would not read back (${check.error.issues[0]?.path.join(".")})`);
  // A Map keeps the sorted order (an object would move integer-like keys such as "0" first), and
  // own keys only: `k in` would take an extra key named "constructor" for a secret.
  // Keys other than plain words are written double-quoted: YAML readers drop a leading BOM and
  // fold some characters in plain keys, which would rename an operator's extra key.
  const key = (k: string) => (/^[A-Za-z0-9_.-]+$/.test(k) ? k : new Scalar(k));
  const sorted = new Map<unknown, unknown>(
    [...Object.keys(state.secrets), ...Object.keys(state.extra)].sort().map((k) => {
      const value = Object.hasOwn(state.secrets, k) ? state.secrets[k as SecretKey] : state.extra[k];
      const sk = key(k);
      if (sk instanceof Scalar) sk.type = Scalar.QUOTE_DOUBLE;
      return [sk, value];
    }),
  );
  return (
    "# ha-gen secrets: generated once, never regenerated. Keep this file private (mode 0600)\n" +
    "# and out of version control. Delete a key to have ha-gen generate a new value.\n" +
    stringify(sorted, { lineWidth: 0 })
  );
}
