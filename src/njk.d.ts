// Templates are bundled as plain strings (tsup text loader; a matching vitest plugin).
declare module "*.njk" {
  const source: string;
  export default source;
}
