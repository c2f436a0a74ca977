import fc from "fast-check";
import { mkdirSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rainer } from "../../src/core/quote.js";
import { requireTool, run, tempDir } from "../helpers/checker.js";
import { EDGE_VALUES, NASTY, RUNS, hostile, quoteAll, show } from "../helpers/quote-arb.js";
import { fileHas, startDaemon, waitFor } from "../helpers/quote-run.js";

/**
 * rainer() in both places RainerScript has strings, which its lexer scans differently:
 * - expressions: `set $!vN = <rainer(v)>;` (here a bare `$` is an error);
 * - object parameters: `action(type="omfile" file=<rainer(path)>)` (here `\$` is an error).
 * `rsyslogd -N1` must accept each config; then rsyslogd runs it (inside `unshare -n`, input only
 * from its own unix socket), one `logger` message goes through, and the message written with the
 * `$!` variables as JSON must hold every value exactly, and every file name must exist exactly.
 */

requireTool("rsyslogd", "logger", "unshare");

const controlOrSurrogate = (ch: string) => /[\u0000-\u001f\u007f]/.test(ch) || /[\ud800-\udfff]/u.test(ch);

/** One config, one rsyslogd run: returns the `$!` variables of the message it wrote. */
async function checkRsyslog(
  values: readonly string[],
  fileNames: readonly string[],
  quote: (v: string) => string = rainer,
  extra = "",
): Promise<Record<string, unknown>> {
  const vals = quoteAll("rainer", values, quote);
  const names = quoteAll("rainer", fileNames, quote);
  const t = tempDir("ha-gen-quote-rsyslog-");
  try {
    const files = join(t.dir, "files");
    mkdirSync(files);
    const out = join(t.dir, "out.json");
    const sock = join(t.dir, "log.sock");
    const conf = [
      `global(workDirectory=${rainer(t.dir)})`,
      `module(load="imuxsock" SysSock.Use="off")`,
      `input(type="imuxsock" Socket=${rainer(sock)})`,
      `template(name="hagen_json" type="list") { property(name="$!") constant(value="\\n") }`,
      extra,
      ...vals.map((v, i) => `set $!v${i} = ${v.quoted};`),
      `action(type="omfile" file=${rainer(out)} template="hagen_json")`,
      ...names.map((n) => `action(type="omfile" file=${quote(join(files, n.value))} template="hagen_json")`),
    ].join("\n");
    const confPath = t.write("rsyslog.conf", `${conf}\n`);
    const check = run("rsyslogd", ["-N1", "-f", confPath]);
    if (check.status !== 0 || /error/i.test(check.stdout + check.stderr))
      throw new Error(`rsyslogd -N1 rejected the config: ${check.stdout}${check.stderr}\n${conf}`);

    const d = startDaemon("unshare", ["-n", "rsyslogd", "-n", "-f", confPath, "-i", join(t.dir, "rsyslogd.pid")]);
    try {
      await waitFor("rsyslogd's socket", () => {
        if (d.exited) throw new Error(`rsyslogd exited: ${d.output()}`);
        return readdirSync(t.dir).includes("log.sock");
      });
      const l = run("logger", ["-u", sock, "ha-gen quoting test"]);
      if (l.status !== 0) throw new Error(`logger failed: ${l.stderr}`);
      await waitFor("rsyslogd to write the message", fileHas(out, "\n"));
    } finally {
      await d.stop();
    }

    const got = JSON.parse(readFileSync(out, "utf8").split("\n")[0]!) as Record<string, unknown>;
    vals.forEach((v, i) => {
      if (got[`v${i}`] !== v.value)
        throw new Error(`rainer(${show(v.value)}) = ${show(v.quoted)} came back as ${show(String(got[`v${i}`]))}`);
    });
    const onDisk = new Set(readdirSync(files));
    for (const n of names)
      if (!onDisk.has(n.value))
        throw new Error(
          `file name ${show(n.value)} (${show(quote(join(files, n.value)))}) ` +
            `not created; found ${[...onDisk].map(show).join(", ")}`,
        );
    if (onDisk.size !== names.length) throw new Error(`unexpected files: ${[...onDisk].map(show).join(", ")}`);
    return got;
  } finally {
    t.cleanup();
  }
}

const fileName = hostile({ avoid: (ch) => controlOrSurrogate(ch) || ch === "/", maxLength: 20 }).filter(
  (n) => n !== "" && n !== "." && n !== ".." && Buffer.byteLength(n) <= 200,
);

describe("rainer() read by rsyslogd: expression strings and object parameters", () => {
  it("round-trips every edge value and nasty fragment, in `set` and as file names (fixed corpus)", async () => {
    const names = [
      ...new Set([...EDGE_VALUES, ...NASTY].filter((n) => !/[/]/.test(n) && n !== "" && n !== "." && n !== "..")),
    ];
    const got = await checkRsyslog(
      [...EDGE_VALUES, ...NASTY, NASTY.filter((n) => !controlOrSurrogate(n)).join("")],
      names,
      rainer,
      `set $!nulproof = "a\\000b";`,
    );
    // NUL is not representable: rsyslog cuts the string at it (so rainer refuses control characters).
    expect(got.nulproof).toBe("a");
  });

  it("round-trips arbitrary hostile strings and file names (property, batched)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hostile({ avoid: controlOrSurrogate }), { minLength: 40, maxLength: 80 }),
        fc.uniqueArray(fileName, { minLength: 3, maxLength: 10 }),
        async (vs, names) => void (await checkRsyslog(vs, names)),
      ),
      RUNS(3),
    );
  });

  it("refuses exactly control characters and lone surrogates", () => {
    fc.assert(
      fc.property(fc.array(hostile(), { maxLength: 200 }), (vs) => void quoteAll("rainer", vs, rainer)),
      { numRuns: 50 },
    );
  });

  it("the same check rejects the old escaping that left `$` bare (proof the check can fail)", async () => {
    const old = (v: string) => `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
    await expect(checkRsyslog(["cost: $5"], [], old)).rejects.toThrow(/rejected the config/);
  });
});
