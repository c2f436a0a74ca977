import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import type { DeployEvent } from "./events.js";
import type { Redactor } from "./redact.js";

/**
 * The local record of one run: `events.jsonl` (every event) and, per node, `push.log` and one
 * `<NN>-<step>.log` per step (command, start, every output line, exit status, duration). Private
 * (0700/0600) and redacted like everything printed.
 */
export class RunLog {
  private readonly streams: WriteStream[] = [];
  private readonly events: WriteStream;
  private readonly made = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly redactor: Redactor,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.events = this.open(join(dir, "events.jsonl"));
  }

  private open(path: string): WriteStream {
    const s = createWriteStream(path, { flags: "a", mode: 0o600 });
    this.streams.push(s);
    return s;
  }

  private nodeDir(node: string): string {
    const d = join(this.dir, safe(node));
    if (!this.made.has(d)) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      this.made.add(d);
    }
    return d;
  }

  event(e: DeployEvent): void {
    this.events.write(`${this.redactor.redact(JSON.stringify({ t: new Date().toISOString(), ...e }))}\n`);
  }

  /** Free-form lines for a node's push log. */
  push(node: string, lines: readonly string[]): void {
    const s = this.open(join(this.nodeDir(node), "push.log"));
    for (const l of lines) s.write(`${this.redactor.redact(l)}\n`);
    s.end();
  }

  /** A step's log on one node; lines are redacted as they are written. */
  step(node: string, index: number, step: string, command: string): StepLog {
    const s = this.open(join(this.nodeDir(node), `${String(index + 1).padStart(2, "0")}-${safe(step)}.log`));
    const started = Date.now();
    s.write(
      `step:    ${step}\nnode:    ${node}\ncommand: ${this.redactor.redact(command)}\n` +
        `started: ${new Date(started).toISOString()}\n--- output (out| stdout, err| stderr) ---\n`,
    );
    return {
      line: (stream, l) => s.write(`${stream}| ${this.redactor.redact(l)}\n`),
      end: (code, extra) => {
        const ms = Date.now() - started;
        s.write(
          `--- end ---\nexit:    ${code === null ? "none (killed, timed out or disconnected)" : code}\n` +
            `duration: ${(ms / 1000).toFixed(2)}s\n${extra ? `${this.redactor.redact(extra)}\n` : ""}`,
        );
        s.end();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.streams.map(
        (s) =>
          new Promise<void>((res) => {
            if (s.writableFinished) return res();
            s.end(() => res());
          }),
      ),
    );
  }
}

export interface StepLog {
  line(stream: "out" | "err", line: string): void;
  end(code: number | null, extra?: string): void;
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** A sortable, unique run id: 20250101-120000-ab12. */
export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp =
    `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}` +
    `-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${Math.random().toString(16).slice(2, 6)}`;
}
