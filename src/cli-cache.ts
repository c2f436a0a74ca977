/** The CLI's private cache, set by the executable (src/bin.ts); absent when ha-gen is a library. */
export interface CliCache {
  /** The running ha-gen build (digest of its bundle): results of its code are valid for it only. */
  readonly build: string;
  read(name: string): string | undefined;
  write(name: string, text: string): void;
}

export const CLI_CACHE = Symbol.for("ha-gen.cli-cache");

export function cliCache(): CliCache | undefined {
  return (globalThis as Record<symbol, unknown>)[CLI_CACHE] as CliCache | undefined;
}
