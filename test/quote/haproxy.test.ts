import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { haproxy } from "../../src/core/quote.js";
import { isolated, requireTool, tempDir } from "../helpers/checker.js";
import { EDGE_VALUES, NASTY, RUNS, hostile, quoteAll, show } from "../helpers/quote-arb.js";

/**
 * haproxy() against a running HAProxy: `stats auth uN:<haproxy(pw)>` and `stats realm
 * <haproxy(realm)>` in a few `listen` sections on 127.0.0.1 inside `unshare -n`; node's http client
 * (in the same namespace) sends the right Basic credentials (200), a wrong password (401) and none
 * (401 with `WWW-Authenticate: Basic realm="<realm>"`). `haproxy -c` must accept each file without
 * a warning. One haproxy start checks a whole batch.
 */

requireTool("haproxy", "unshare", "ip");

const CLIENT =
  `
import http from "node:http";
import { readFileSync } from "node:fs";
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function get(port, auth) {
  return new Promise((resolve, reject) => {
    const headers = auth === null ? {} : { authorization: "Basic " + Buffer.from(auth, "utf8").toString("base64") };
    const req = http.request({ host: "127.0.0.1", port, path: "/", headers, agent: false }, (res) => {
      res.resume();
      const h = res.headers["www-authenticate"];
      // Node reads header bytes as latin1; the realm is UTF-8.
      res.on("end", () => resolve({ status: res.statusCode, realm: h === undefined ? null : ` +
  `Buffer.from(h, "latin1").toString("utf8") }));
    });
    req.on("error", reject);
    req.setTimeout(5000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}
for (const port of new Set(cases.map((c) => c.port))) {
  const until = Date.now() + 10000;
  for (;;) {
    try { await get(port, null); break; } catch (e) { if (Date.now() > until) throw e; await sleep(20); }
  }
}
const out = [];
for (const c of cases) out.push(await get(c.port, c.auth));
process.stdout.write(JSON.stringify(out));
`;

interface Case {
  port: number;
  auth: string | null;
  expect: number;
  realm?: string;
  what: string;
}

/** One config, one haproxy, one client run for all passwords and realms given. */
function checkAuth(
  passwords: readonly string[],
  realms: readonly string[],
  quote: (v: string) => string = haproxy,
): void {
  const pws = quoteAll("haproxy", passwords, quote);
  const rls = quoteAll("haproxy", realms, quote);
  const sections = Math.max(1, rls.length, Math.ceil(pws.length / 25));
  const t = tempDir("ha-gen-quote-haproxy-");
  try {
    const cases: Case[] = [];
    let cfg =
      "global\n    maxconn 200\n\n" +
      "defaults\n    mode http\n    timeout connect 5s\n    timeout client 10s\n    timeout server 10s\n";
    for (let s = 0; s < sections; s++) {
      const port = 8400 + s;
      const realm = rls[s];
      cfg += `\nlisten stats${s}\n    bind 127.0.0.1:${port}\n    stats enable\n    stats uri /\n`;
      if (realm) cfg += `    stats realm ${realm.quoted}\n`;
      pws.forEach((p, i) => {
        if (i % sections !== s) return;
        cfg += `    stats auth u${i}:${p.quoted}\n`;
        cases.push({
          port,
          auth: `u${i}:${p.value}`,
          expect: 200,
          what: `password ${show(p.value)} (${show(p.quoted)})`,
        });
        cases.push({ port, auth: `u${i}:${p.value}x`, expect: 401, what: `wrong password for ${show(p.value)}` });
      });
      if (!pws.some((_, i) => i % sections === s)) cfg += `    stats auth nobody:nobody-${s}\n`;
      cases.push({
        port,
        auth: null,
        expect: 401,
        realm: realm?.value,
        what: `realm ${realm ? show(realm.value) : "(default)"}`,
      });
    }
    const cfgPath = t.write("haproxy.cfg", cfg);
    const clientPath = t.write("client.mjs", CLIENT);
    const casesPath = t.write("cases.json", JSON.stringify(cases));
    const resultPath = `${t.dir}/results.json`;
    const script = `
set -u
ip link set lo up
haproxy -c -f "$1" >"$5/check.log" 2>&1 || { cat "$5/check.log"; exit 3; }
if grep -E '\\[(WARNING|ALERT)\\]' "$5/check.log"; then exit 4; fi
haproxy -db -f "$1" >"$5/haproxy.log" 2>&1 &
hp=$!
timeout 60 "$2" "$3" "$4" >"$6"
rc=$?
kill "$hp"
wait "$hp"
[ "$rc" = 0 ] || cat "$5/haproxy.log"
exit "$rc"
`;
    const r = isolated(script, [cfgPath, process.execPath, clientPath, casesPath, t.dir, resultPath]);
    if (r.status !== 0) throw new Error(`haproxy run failed (${String(r.status)}): ${r.stdout}${r.stderr}\n${cfg}`);
    const results = JSON.parse(readFileSync(resultPath, "utf8")) as { status: number; realm: string | null }[];
    expect(results.length).toBe(cases.length);
    cases.forEach((c, i) => {
      const got = results[i]!;
      if (got.status !== c.expect) throw new Error(`${c.what}: HTTP ${got.status}, expected ${c.expect}`);
      if (c.realm !== undefined && got.realm !== `Basic realm="${c.realm}"`)
        throw new Error(`${c.what} came back as ${show(got.realm ?? "(no header)")}`);
    });
  } finally {
    t.cleanup();
  }
}

// Characters haproxy() refuses by design; avoiding them keeps most generated samples accepted.
const refused = (ch: string) => /['"$\u0000-\u001f\u007f]/.test(ch) || /[\ud800-\udfff]/u.test(ch);

describe("haproxy() read by HAProxy: stats auth and stats realm", () => {
  it("accepts the password and realm of every edge value and nasty fragment (fixed corpus)", () => {
    const corpus = [...EDGE_VALUES, ...NASTY, NASTY.filter((n) => !refused(n)).join("")];
    checkAuth(corpus, [
      "my realm",
      "a#b\\c d😀中",
      "-",
      "realm:with:colons",
      ` ${NASTY.filter((n) => !refused(n) && !n.includes("\\")).join("")} `,
    ]);
  });

  it("accepts arbitrary hostile passwords and realms (property, batched)", () => {
    fc.assert(
      fc.property(
        fc.array(hostile({ avoid: refused, maxLength: 30 }), { minLength: 30, maxLength: 60 }),
        fc.array(hostile({ avoid: refused, maxLength: 30 }), { minLength: 1, maxLength: 4 }),
        (pws, realms) => checkAuth(pws, realms),
      ),
      RUNS(3),
    );
  });

  it("refuses exactly the documented set (empty, control characters, quotes, $, lone surrogates)", () => {
    fc.assert(
      fc.property(fc.array(hostile(), { maxLength: 200 }), (vs) => void quoteAll("haproxy", vs, haproxy)),
      { numRuns: 50 },
    );
  });

  it("the same check rejects unescaped words (proof the check can fail)", () => {
    expect(() => checkAuth(["pass#word"], [], (v) => v)).toThrow(/HTTP 401, expected 200/);
  });
});
