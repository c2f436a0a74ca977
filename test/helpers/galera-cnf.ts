/**
 * A small reader for MariaDB option files as the generator tests need them: groups of
 * `key = value` lines, `#` comments, surrounding double quotes removed. The real parser
 * (mariadbd, my_print_defaults) is exercised by the checker tests.
 */
export type CnfGroups = Map<string, Map<string, string>>;

export function parseCnf(text: string): CnfGroups {
  const groups: CnfGroups = new Map();
  let current: Map<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = groups.get(header[1]!) ?? new Map();
      groups.set(header[1]!, current);
      continue;
    }
    if (!current) throw new Error(`option outside a group: ${line}`);
    const eq = line.indexOf("=");
    const key = (eq < 0 ? line : line.slice(0, eq)).trim();
    let value = eq < 0 ? "" : line.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (current.has(key)) throw new Error(`${key} set twice in one group`);
    current.set(key, value);
  }
  return groups;
}

export function cnfValue(groups: CnfGroups, group: string, key: string): string | undefined {
  return groups.get(group)?.get(key);
}
