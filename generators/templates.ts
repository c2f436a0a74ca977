import nunjucks from "nunjucks";
import { cnf, envValue, haproxy, rainer, sh, sql, word, xinetd } from "../src/quote.js";

/**
 * One nunjucks environment for all templates. Autoescape is off (these are not HTML); instead every
 * interpolated value goes through the filter for its format: sh, sql, cnf, haproxy, env, xinetd,
 * rainer, word. Templates are bundled strings, compiled once and cached.
 */
const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true, trimBlocks: true, lstripBlocks: true });
env.addFilter("sh", (v: string | number) => sh(v));
env.addFilter("sql", (v: string) => sql(v));
env.addFilter("cnf", (v: string | number) => cnf(v));
env.addFilter("haproxy", (v: string | number) => haproxy(v));
env.addFilter("env", (v: string | number) => envValue(v));
env.addFilter("xinetd", (v: string | number) => xinetd(v));
env.addFilter("rainer", (v: string) => rainer(v));
env.addFilter("word", (v: string | number, format = "config") => word(v, format));

const compiled = new Map<string, nunjucks.Template>();

export function renderTemplate(name: string, source: string, context: object): string {
  let t = compiled.get(name);
  if (!t) {
    t = new nunjucks.Template(source, env, name, true);
    compiled.set(name, t);
  }
  return t.render(context);
}
