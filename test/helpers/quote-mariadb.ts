import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { requireTool, run, tempDir } from "./checker.js";
import { mustSucceed, runBytes, startDaemon, waitFor, type BytesResult } from "./quote-run.js";

/**
 * A throwaway MariaDB server for the quoting tests: fresh datadir from mariadb-install-db, no TCP
 * (`--skip-networking`, and its own network namespace anyway), one socket in a temp dir. root logs
 * in through the unix_socket plugin, so grants work and password logins can be tested too.
 */
export interface TestMariaDb {
  readonly dir: string;
  readonly socket: string;
  /** Run SQL text through the `mariadb` client as root (batch mode, utf8mb4); stdout as bytes. */
  sql(text: string): BytesResult;
  /** Run the client with an option file of our own (for password logins). */
  client(defaultsFile: string, text: string): BytesResult;
  stop(): Promise<void>;
}

export async function startMariaDb(): Promise<TestMariaDb> {
  requireTool("unshare", "mariadbd", "mariadb-install-db", "mariadb");
  const t = tempDir("ha-gen-quote-db-");
  const datadir = join(t.dir, "data");
  const socket = join(t.dir, "mysqld.sock");
  const log = join(t.dir, "error.log");
  // Small InnoDB files: the default 96 MiB redo log is most of the start-up time.
  const small = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=32M"];
  const inst = run(
    "mariadb-install-db",
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      "--user=root",
      "--auth-root-authentication-method=socket",
      "--skip-test-db",
      ...small,
    ],
    { timeout: 120_000 },
  );
  mustSucceed("mariadb-install-db", inst);
  const server = startDaemon("unshare", [
    "-n",
    "mariadbd",
    "--no-defaults",
    `--datadir=${datadir}`,
    "--user=root",
    "--skip-networking",
    `--socket=${socket}`,
    `--pid-file=${join(t.dir, "mysqld.pid")}`,
    `--log-error=${log}`,
    ...small,
  ]);
  const base = [
    "--no-defaults",
    `--socket=${socket}`,
    "--batch",
    "--raw",
    "--skip-column-names",
    "--default-character-set=utf8mb4",
  ];
  const db: TestMariaDb = {
    dir: t.dir,
    socket,
    sql: (text) => runBytes("mariadb", [...base, "--user=root"], { input: text }),
    client: (defaultsFile, text) =>
      // The statement goes in argv, not stdin: a refused login exits before reading stdin (EPIPE).
      runBytes("mariadb", [
        `--defaults-file=${defaultsFile}`,
        `--socket=${socket}`,
        "--batch",
        "--raw",
        "--skip-column-names",
        "--default-character-set=utf8mb4",
        `--execute=${text}`,
      ]),
    async stop() {
      try {
        await server.stop(30_000);
      } finally {
        t.cleanup();
      }
    },
  };
  try {
    await waitFor(
      "mariadbd to accept connections",
      () => {
        if (server.exited)
          throw new Error(`mariadbd exited: ${server.output()}${existsSync(log) ? readFileSync(log, "utf8") : ""}`);
        return existsSync(socket) && db.sql("SELECT 1;").status === 0;
      },
      60_000,
      50,
    );
  } catch (e) {
    await db.stop();
    throw e;
  }
  return db;
}
