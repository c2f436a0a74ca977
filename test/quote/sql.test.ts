import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cnf, sql } from "../../src/core/quote.js";
import { tempDir } from "../helpers/checker.js";
import { EDGE_VALUES, NASTY, RUNS, UNREPRESENTABLE, batch, hostile, quoteAll } from "../helpers/quote-arb.js";
import { startMariaDb, type TestMariaDb } from "../helpers/quote-mariadb.js";
import { mustSucceed } from "../helpers/quote-run.js";

/**
 * sql() against a real MariaDB server (default sql_mode, utf8mb4 connection), and sql()+cnf()
 * together on the path ha-gen uses them for: CREATE USER … IDENTIFIED BY <sql(pw)>, then the client
 * logs in with `password = <cnf(pw)>` from an option file. One server per file, batched queries.
 */

let db: TestMariaDb;
beforeAll(async () => {
  db = await startMariaDb();
});
afterAll(async () => {
  await db?.stop();
});

const hex = (v: string) => Buffer.from(v, "utf8").toString("hex").toUpperCase();

/** `SELECT HEX(<literal>)` per value, all in one client run; compares the server's bytes. */
function selectHex(values: readonly string[], quote: (v: string) => string = sql): void {
  const acc = quoteAll("sql", values, quote);
  if (acc.length === 0) return;
  const r = db.sql(`${acc.map((a) => `SELECT HEX(${a.quoted});`).join("\n")}\n`);
  mustSucceed("mariadb SELECT HEX(...)", r);
  const lines = r.stdout.toString("utf8").split("\n");
  expect(lines.pop()).toBe("");
  if (lines.length !== acc.length) throw new Error(`sent ${acc.length} literals, got ${lines.length} rows`);
  acc.forEach((a, i) => {
    if (lines[i] !== hex(a.value) || Buffer.from(lines[i]!, "hex").toString("utf8") !== a.value) {
      throw new Error(
        `sql(${JSON.stringify(a.value)}) = ${a.quoted} ` +
          `came back as ${JSON.stringify(Buffer.from(lines[i]!, "hex").toString("utf8"))}`,
      );
    }
  });
}

let userSeq = 0;
/** Create one user per password with sql(), then log in as each with cnf() in an option file. */
function loginWith(passwords: readonly string[], quotePassword: (v: string) => string = cnf): void {
  const usable = passwords.filter((p) => !UNREPRESENTABLE.sql(p) && !UNREPRESENTABLE.cnf(p));
  if (usable.length === 0) return;
  const users = usable.map(() => `hagen_u${userSeq++}`);
  const create = usable.map((p, i) => `CREATE USER ${sql(users[i]!)}@'localhost' IDENTIFIED BY ${sql(p)};`).join("\n");
  mustSucceed("CREATE USER", db.sql(`${create}\n`));
  const t = tempDir("ha-gen-quote-login-");
  try {
    usable.forEach((p, i) => {
      const good = t.write(
        `good-${i}.cnf`,
        `[client]\nuser = ${cnf(users[i]!)}\npassword = ${quotePassword(p)}\n`,
        0o600,
      );
      const r = db.client(good, "SELECT CURRENT_USER();\n");
      if (r.status !== 0 || r.stdout.toString("utf8") !== `${users[i]}@localhost\n`) {
        throw new Error(`login with password ${JSON.stringify(p)} (cnf ${quotePassword(p)}) failed: ${r.stderr}`);
      }
      // And the server really checks it: one character more is refused (sampled: a login costs ~20 ms).
      if (i % 4 !== 0) return;
      const bad = t.write(`bad-${i}.cnf`, `[client]\nuser = ${cnf(users[i]!)}\npassword = ${cnf(`${p}x`)}\n`, 0o600);
      const rb = db.client(bad, "SELECT 1;\n");
      if (rb.status === 0 || !/Access denied/.test(rb.stderr))
        throw new Error(`a wrong password for ${JSON.stringify(p)} was accepted`);
    });
  } finally {
    t.cleanup();
  }
}

describe("sql() read by a real MariaDB server", () => {
  it("round-trips every edge value and nasty fragment byte for byte (fixed corpus)", () => {
    selectHex([
      ...EDGE_VALUES,
      ...NASTY,
      NASTY.join(""),
      "\u0000",
      "a\u0000b",
      "\u001a",
      "\\0",
      "\\Z",
      "' OR '1'='1",
      "'; DROP TABLE x; --",
    ]);
  });

  it("round-trips arbitrary hostile strings (property, batched)", () => {
    fc.assert(
      fc.property(batch({ minLength: 60, maxLength: 120 }), (values) => selectHex(values)),
      RUNS(12),
    );
  });

  it("refuses only lone surrogates, which have no UTF-8 form", () => {
    expect(() => sql("a\ud800")).toThrow(/surrogate/);
    expect(sql("\ud83d\ude00")).toBe("'😀'");
  });

  it("the same check rejects naive quoting (proof the check can fail)", () => {
    expect(() => selectHex(["a\\nb"], (v) => `'${v}'`)).toThrow(/came back as/);
  });
});

describe("sql() in CREATE USER + cnf() in the client's option file: the password logs in", () => {
  it("works for every edge value and nasty fragment (fixed corpus)", () => {
    // Fragments in groups of 6 (SELECT HEX above checks each one alone).
    const frags = NASTY.filter((n) => n !== "\u0000");
    const groups = Array.from({ length: Math.ceil(frags.length / 6) }, (_, i) =>
      frags.slice(i * 6, i * 6 + 6).join(""),
    );
    loginWith([...EDGE_VALUES, ...groups, frags.join("")]);
  });

  it("works for arbitrary hostile passwords (property, batched)", () => {
    fc.assert(
      fc.property(fc.array(hostile({ maxLength: 32 }), { minLength: 8, maxLength: 16 }), (pws) => loginWith(pws)),
      RUNS(3),
    );
  });

  it("the same check rejects an unescaped option-file value (proof the check can fail)", () => {
    expect(() => loginWith(["pass#word"], (v) => v)).toThrow(/failed/);
  });
});
