import { sh } from "../src/core/quote.js";

export const REDACTED = "[redacted]";

/**
 * Removes every secret value from text before it is printed or logged. Besides the raw value it
 * removes the forms a secret takes when a script or a tool quotes it (shell single quotes, JSON
 * and backslash escapes), longest first so a secret containing another is removed whole.
 */
export class Redactor {
  private readonly needles: readonly string[];

  constructor(secrets: Iterable<string>) {
    const set = new Set<string>();
    for (const s of secrets) {
      // Values this short would redact ordinary words; ha-gen's secrets are 8+ characters.
      if (typeof s !== "string" || s.length < 4) continue;
      set.add(s);
      set.add(sh(s));
      set.add(JSON.stringify(s).slice(1, -1));
      set.add(s.replace(/[\\"'$`\s]/g, "\\$&"));
      set.add(encodeURIComponent(s));
    }
    this.needles = [...set].filter((n) => n.length >= 4).sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.needles.length === 0;
  }

  redact(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
    return out;
  }

  /** Redacts a JSON-able value by redacting its serialisation. */
  redactJson(value: unknown): string {
    return this.redact(JSON.stringify(value));
  }
}

/**
 * Redaction for streamed output: holds back an incomplete last line (a secret might continue in
 * the next chunk; secrets never contain a newline) and redacts complete lines.
 */
export class LineRedactor {
  private pending = "";
  constructor(
    private readonly r: Redactor,
    private readonly emit: (line: string) => void,
  ) {}

  push(chunk: string): void {
    this.pending += chunk;
    for (let nl = this.pending.indexOf("\n"); nl >= 0; nl = this.pending.indexOf("\n")) {
      this.emit(this.r.redact(this.pending.slice(0, nl)));
      this.pending = this.pending.slice(nl + 1);
    }
  }

  flush(): void {
    if (this.pending !== "") this.emit(this.r.redact(this.pending));
    this.pending = "";
  }
}
