import nunjucks from "nunjucks";
import { cnf, envValue, haproxy, rainer, sh, sql, word, xinetd } from "./quote.js";
import { TEMPLATE_OPTIONS } from "./template-options.js";

/**
 * One nunjucks environment for all templates: the generators' files and scripts and deploy's own
 * remote scripts. Autoescape is off (these are not HTML); instead every interpolated value goes
 * through the filter for its format: sh, sql, cnf, haproxy, env, xinetd, rainer, word. Templates
 * arrive precompiled (the build compiles *.njk, see template-precompile.ts).
 */
const env = new nunjucks.Environment(null, { ...TEMPLATE_OPTIONS });
env.addFilter("sh", (v: string | number) => sh(v));
env.addFilter("sql", (v: string) => sql(v));
env.addFilter("cnf", (v: string | number) => cnf(v));
env.addFilter("haproxy", (v: string | number) => haproxy(v));
env.addFilter("env", (v: string | number) => envValue(v));
env.addFilter("xinetd", (v: string | number) => xinetd(v));
env.addFilter("rainer", (v: string) => rainer(v));
env.addFilter("word", (v: string | number, format = "config") => word(v, format));

const compiled = new Map<string, nunjucks.Template>();

/** A precompiled template module, or template text (tests of templates built on the fly). */
export type TemplateSource = string | { readonly type: "code"; readonly obj: unknown };

export function renderTemplate(name: string, source: TemplateSource, context: object): string {
  let t = compiled.get(name);
  if (!t) {
    t = new nunjucks.Template(source as string, env, name, true);
    compiled.set(name, t);
  }
  return t.render(context);
}
