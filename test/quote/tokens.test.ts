import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { word, xinetd } from "../../src/core/quote.js";
import { isolated, requireTool, tempDir } from "../helpers/checker.js";
import { EDGE_VALUES, NASTY, RUNS, expectSameBytes, hostile, quoteAll, splitNul } from "../helpers/quote-arb.js";

/**
 * xinetd() and word(): plain tokens, no quoting, so the whole contract is the refusal set. Both are
 * checked against an independent per-character definition of it (test/helpers/quote-arb.ts), and
 * accepted xinetd tokens are read back by a running xinetd: as `server_args`, which xinetd hands to
 * the server as argv (the server script prints its argv; inside `unshare -n`).
 */

requireTool("xinetd", "unshare", "ip", "bash");

const TOKEN_CHARS = [..."abcxyzABCXYZ0129_@%+:,./-[]"];
// Mostly token characters, some that must be refused.
const tokenish = fc.string({
  unit: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...TOKEN_CHARS) },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY) },
  ),
  maxLength: 16,
});
const mixed = fc.oneof(tokenish, hostile());

/** One xinetd run: `server_args = <xinetd(t)>…`; the server prints "$@" NUL-separated. */
function xinetdArgs(tokens: readonly string[], quote: (v: string) => string = xinetd): void {
  // A deliberately wrong quoter (the proof below) skips the refusal check to reach xinetd.
  const acc =
    quote === xinetd ? quoteAll("xinetd", tokens, quote) : tokens.map((value) => ({ value, quoted: quote(value) }));
  if (acc.length === 0) return;
  const t = tempDir("ha-gen-quote-xinetd-");
  try {
    const server = t.write("args.sh", "#!/bin/bash\nprintf '%s\\0' \"$@\"\n", 0o755);
    const conf = t.write(
      "xinetd.conf",
      `defaults\n{\n}\n\nservice hagen-quote\n{\n\ttype = UNLISTED\n` +
        `\tsocket_type = stream\n\tprotocol = tcp\n\tport = 9999\n\tbind = 127.0.0.1\n\twait = no\n\tuser = root\n` +
        `\tserver = ${xinetd(server)}\n\tserver_args = ${acc.map((a) => a.quoted).join(" ")}\n\tdisable = no\n}\n`,
    );
    const log = `${t.dir}/xinetd.log`;
    const out = `${t.dir}/out`;
    const script = `
set -u
ip link set lo up
xinetd -dontfork -filelog "$2" -f "$1" &
x=$!
for _ in $(seq 400); do grep -q 'Started working' "$2" 2>/dev/null && break; sleep 0.025; done
if ! grep -q 'Started working: 1 available service' "$2"; then kill "$x"; wait "$x"; cat "$2"; exit 3; fi
exec 3<>/dev/tcp/127.0.0.1/9999
timeout 10 cat <&3 >"$3"
exec 3<&-
kill "$x"
wait "$x"
if grep -E 'ERROR|WARNING' "$2" | grep -v 'Exiting'; then exit 4; fi
`;
    const r = isolated(script, [conf, log, out]);
    if (r.status !== 0) throw new Error(`xinetd run failed (${String(r.status)}): ${r.stdout}${r.stderr}`);
    expectSameBytes(
      "xinetd server_args",
      acc.map((a) => a.value),
      splitNul(readFileSync(out)),
    );
  } finally {
    t.cleanup();
  }
}

describe("xinetd(): single tokens, read back by xinetd", () => {
  it("passes every accepted edge value and nasty fragment through server_args (fixed corpus)", () => {
    xinetdArgs([
      ...EDGE_VALUES,
      ...NASTY,
      "127.0.0.1",
      "/usr/bin/clustercheck",
      "mysql",
      "9200",
      "user@host:1,2",
      "-n",
      "--x",
    ]);
  });

  it("passes arbitrary accepted tokens through server_args exactly (property, batched)", () => {
    fc.assert(
      fc.property(fc.array(mixed, { minLength: 40, maxLength: 100 }), (ts) => xinetdArgs(ts)),
      RUNS(3),
    );
  });

  it("refuses exactly what is not a plain token (property)", () => {
    fc.assert(
      fc.property(fc.array(mixed, { maxLength: 300 }), (vs) => void quoteAll("xinetd", vs, xinetd)),
      { numRuns: 100 },
    );
    expect(xinetd(9200)).toBe("9200");
  });

  it("the same check rejects a token with a space (proof the check can fail): xinetd splits it", () => {
    expect(() => xinetdArgs(["two words"], (v) => v)).toThrow(/wrote 1 values, read back 2/);
  });
});

describe("word(): plain tokens for chrony, hosts, sysctl and rsyslog paths", () => {
  it("refuses exactly what is not a plain token (property)", () => {
    fc.assert(
      fc.property(fc.array(mixed, { maxLength: 300 }), (vs) => void quoteAll("word", vs, (v) => word(v, "test.conf"))),
      { numRuns: 100 },
    );
  });

  it("accepts IPv6 literals and names the format in its refusal", () => {
    expect(word("[fe80::1]", "chrony.conf")).toBe("[fe80::1]");
    expect(word(123, "sysctl.conf")).toBe("123");
    expect(() => word("a b", "chrony.conf")).toThrow(/chrony\.conf/);
    // Every accepted word is one whitespace-free, comment-free, quote-free ASCII token.
    fc.assert(
      fc.property(mixed, (v) => {
        let w: string;
        try {
          w = word(v, "x");
        } catch {
          return;
        }
        expect(w).toBe(v);
        expect(w).toMatch(/^[\x21-\x7e]+$/);
        expect(w).not.toMatch(/[#;'"\\$`!]/);
      }),
      { numRuns: 300 },
    );
  });
});
