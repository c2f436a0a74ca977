import { writeSync } from "node:fs";

/**
 * The CLI's output. Writes go straight to the file descriptor so that a command's output is
 * complete when it returns, also when stdout is a pipe; a reader that went away (`ha-gen plan |
 * head`) ends output quietly. A descriptor that would block hands the rest to the stream.
 */
function writeFd(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  let done = 0;
  try {
    while (done < buf.length) done += writeSync(fd, buf, done);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EPIPE") return;
    if (code !== "EAGAIN") throw e;
    (fd === 1 ? process.stdout : process.stderr).write(buf.subarray(done));
  }
}

export const printOut = (text: string): void => writeFd(1, text);
export const printErr = (text: string): void => writeFd(2, text);
