// Templates are bundled precompiled (src/core/template-precompile.ts, from tsup and vitest).
declare module "*.njk" {
  const template: { readonly type: "code"; readonly obj: unknown };
  export default template;
}
