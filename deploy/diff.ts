/**
 * A small unified diff (Myers' O(ND) line diff, 3 lines of context), for `deploy --dry-run`.
 * Output is what `diff -u` prints and `patch` applies, including "\ No newline at end of file".
 */

type Op = { kind: " " | "-" | "+"; line: string };

function splitLines(s: string): { lines: string[]; finalNewline: boolean } {
  if (s === "") return { lines: [], finalNewline: true };
  const finalNewline = s.endsWith("\n");
  const lines = (finalNewline ? s.slice(0, -1) : s).split("\n");
  return { lines, finalNewline };
}

/** Shortest edit script between two line arrays (Myers 1986: greedy forward pass, then backtrack). */
function myers(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) break outer;
    }
  }
  const ops: Op[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[off + k - 1]! < vd[off + k + 1]!) ? k + 1 : k - 1;
    const prevX = vd[off + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ kind: " ", line: a[x - 1]! });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) ops.push({ kind: "+", line: b[prevY]! });
      else ops.push({ kind: "-", line: a[prevX]! });
    }
    x = prevX;
    y = prevY;
  }
  return ops.reverse();
}

/**
 * Unified diff of `before` → `after`, or "" when they are equal. `label` names the file in the
 * ---/+++ header (`a/<label>`, `b/<label>`); a missing old file is shown as /dev/null.
 */
export function unifiedDiff(before: string | undefined, after: string, label: string, context = 3): string {
  if (before === after) return "";
  const A = splitLines(before ?? "");
  const B = splitLines(after);
  // Treat a changed final newline as a change of the last line, as diff does.
  const a = [...A.lines];
  const b = [...B.lines];
  const NO_NL = "\u0000nonl";
  if (!A.finalNewline && a.length > 0) a[a.length - 1] += NO_NL;
  if (!B.finalNewline && b.length > 0) b[b.length - 1] += NO_NL;
  const ops = myers(a, b);
  const out: string[] = [`--- ${before === undefined ? "/dev/null" : `a/${label}`}`, `+++ b/${label}`];
  // Group changes into hunks with `context` lines around them.
  let i = 0;
  const aPos: number[] = [];
  const bPos: number[] = [];
  let ai = 0;
  let bi = 0;
  for (const op of ops) {
    aPos.push(ai);
    bPos.push(bi);
    if (op.kind !== "+") ai++;
    if (op.kind !== "-") bi++;
  }
  while (i < ops.length) {
    if (ops[i]!.kind === " ") {
      i++;
      continue;
    }
    let start = Math.max(0, i - context);
    let end = i;
    // Extend while the next change is within 2*context unchanged lines.
    for (;;) {
      while (end < ops.length && ops[end]!.kind !== " ") end++;
      let j = end;
      while (j < ops.length && ops[j]!.kind === " ") j++;
      if (j < ops.length && j - end <= 2 * context) {
        end = j;
        continue;
      }
      end = Math.min(ops.length, end + context);
      break;
    }
    const hunk = ops.slice(start, end);
    const aCount = hunk.filter((o) => o.kind !== "+").length;
    const bCount = hunk.filter((o) => o.kind !== "-").length;
    const aStart = aCount === 0 ? aPos[start]! : aPos[start]! + 1;
    const bStart = bCount === 0 ? bPos[start]! : bPos[start]! + 1;
    out.push(`@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@`);
    for (const o of hunk) {
      if (o.line.endsWith(NO_NL)) {
        out.push(o.kind + o.line.slice(0, -NO_NL.length));
        out.push("\\ No newline at end of file");
      } else out.push(o.kind + o.line);
    }
    i = end;
    start = end;
  }
  return `${out.join("\n")}\n`;
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${start},${count}`;
}
